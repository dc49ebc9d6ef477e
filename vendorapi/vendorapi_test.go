package vendorapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keylease/keylease/internal/fault"
	"github.com/keylease/keylease/internal/leakcheck"
	"github.com/keylease/keylease/internal/vendorfake"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// sleeps records the waits a client asked for instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// outputs collects everything a test saw, for one leak check at the end.
type outputs struct {
	mu     sync.Mutex
	b      strings.Builder
	values []string
}

func (o *outputs) add(vs ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, v := range vs {
		if err, ok := v.(error); ok && err != nil {
			fmt.Fprintf(&o.b, "%s\n", err.Error())
			continue
		}
		fmt.Fprintf(&o.b, "%+v %#v\n", v, v)
	}
}

func (o *outputs) secret(vs ...string) { o.values = append(o.values, vs...) }

// mint has m mint n keys named rot-0, rot-1, …, and records each key as
// a secret the outputs must not show.
func (o *outputs) mint(t *testing.T, m vendorapi.Minter, n int) {
	t.Helper()
	for i := range n {
		k, err := m.Mint(t.Context(), fmt.Sprintf("rot-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		o.secret(string(k.Key.Bytes()))
	}
}

func (o *outputs) check(t *testing.T) {
	t.Helper()
	leakcheck.Assert(t, "errors and results", []byte(o.b.String()), o.values...)
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// start starts a vendor emulator (closed when the test ends) and a client
// whose base URLs, from urls, point at it; sleeps are recorded unless o sets
// its own Sleep.
func start[F io.Closer, C any](t *testing.T, o vendorapi.Options, startFake func() (F, error), urls func(F) map[string]string,
	newClient func(vendorapi.Options) (C, error)) (F, C, *sleeps) {
	t.Helper()
	f, err := startFake()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	sl := &sleeps{}
	if o.Sleep == nil {
		o.Sleep = sl.sleep
	}
	o.Getenv = env(urls(f))
	c, err := newClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return f, c, sl
}

func startOpenAI(t *testing.T, o vendorapi.Options) (*vendorfake.OpenAI, *vendorapi.OpenAI, *sleeps) {
	t.Helper()
	return start(t, o, vendorfake.StartOpenAI, func(f *vendorfake.OpenAI) map[string]string {
		return map[string]string{"OPENAI_BASE_URL": f.BaseURL()}
	}, vendorapi.NewOpenAI)
}

func startAnthropic(t *testing.T, o vendorapi.Options) (*vendorfake.Anthropic, *vendorapi.Anthropic, *sleeps) {
	t.Helper()
	return start(t, o, vendorfake.StartAnthropic, func(f *vendorfake.Anthropic) map[string]string {
		return map[string]string{"ANTHROPIC_BASE_URL": f.URL()}
	}, vendorapi.NewAnthropic)
}

func startXAI(t *testing.T, o vendorapi.Options) (*vendorfake.XAI, *vendorapi.XAI, *sleeps) {
	t.Helper()
	return start(t, o, vendorfake.StartXAI, func(f *vendorfake.XAI) map[string]string {
		return map[string]string{"XAI_BASE_URL": f.BaseURL(), "XAI_MANAGEMENT_URL": f.URL()}
	}, vendorapi.NewXAI)
}

func TestOpenAIVerdicts(t *testing.T) {
	t.Parallel()
	f, c, _ := startOpenAI(t, vendorapi.Options{MaxRetries: 2})
	var out outputs
	_, good := f.AddKey("proj_1", "good", false)
	_, restricted := f.AddKey("proj_1", "restricted", true)
	admin := f.AddAdminKey()
	bogus := "sk-proj-" + strings.Repeat("Ab1", 30)
	out.secret(good, restricted, admin, bogus)
	ctx := context.Background()
	cases := []struct {
		name  string
		key   string
		fault *fault.Rule
		want  vendorapi.Verdict
		calls int
	}{
		{"valid", good, nil, vendorapi.Valid, 1},
		{"invalid_api_key", bogus, nil, vendorapi.Invalid, 1},
		{"missing scopes", restricted, nil, vendorapi.Indeterminate, 1},
		{"admin key cannot list models", admin, nil, vendorapi.Indeterminate, 1},
		{"5xx retried then indeterminate", good, &fault.Rule{Op: vendorfake.OpOpenAIModels, Status: 500}, vendorapi.Indeterminate, 3},
		{"429 retried then indeterminate", good, &fault.Rule{Op: vendorfake.OpOpenAIModels, Kind: fault.Throttle}, vendorapi.Indeterminate, 3},
		{"one 503 then valid", good, &fault.Rule{Op: vendorfake.OpOpenAIModels, Status: 503, Times: 1}, vendorapi.Valid, 2},
		{"reset then valid", good, &fault.Rule{Op: vendorfake.OpOpenAIModels, Kind: fault.Reset, Times: 1}, vendorapi.Valid, 2},
	}
	for _, tc := range cases { // sequential: they share the fake's counters
		f.Faults.Clear()
		f.Faults.ResetCounts()
		if tc.fault != nil {
			f.Faults.Add(*tc.fault)
		}
		v, err := c.Check(ctx, secret.FromString(tc.key))
		out.add(v, err)
		if v != tc.want {
			t.Errorf("%s: verdict %v (err %v), want %v", tc.name, v, err, tc.want)
		}
		if (v == vendorapi.Indeterminate) != (err != nil) {
			t.Errorf("%s: verdict %v with err %v: an error must come with exactly Indeterminate", tc.name, v, err)
		}
		if n := f.Faults.Count(vendorfake.OpOpenAIModels); n != tc.calls {
			t.Errorf("%s: %d calls, want %d", tc.name, n, tc.calls)
		}
	}
	out.check(t)
}

func TestOpenAIErrorIsCut(t *testing.T) {
	t.Parallel()
	f, c, _ := startOpenAI(t, vendorapi.Options{})
	bogus := "sk-proj-" + strings.Repeat("Zq9", 30)
	f.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIModels, Status: 403, Code: "unsupported_country_region_territory", Message: "key " + bogus})
	_, err := c.Check(context.Background(), secret.FromString(bogus))
	var e *vendorapi.Error
	if !errors.As(err, &e) || e.Status != 403 || e.Code != "unsupported_country_region_territory" || e.Type != "invalid_request_error" {
		t.Fatalf("err = %#v, want a cut *Error with status, type and code", err)
	}
	if want := "openai check key: http 403 Forbidden (invalid_request_error/unsupported_country_region_territory)"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	leakcheck.Assert(t, "error", []byte(err.Error()), bogus)
}

func TestAnthropicVerdictsAndDisable(t *testing.T) {
	t.Parallel()
	f, c, _ := startAnthropic(t, vendorapi.Options{MaxRetries: 1})
	var out outputs
	id, key := f.AddKey("ci")
	admin := f.AddAdminKey()
	bogus := "sk-ant-api03-" + strings.Repeat("xY7", 31) + "AA"
	out.secret(key, admin, bogus)
	ctx := context.Background()
	check := func(name, k string, want vendorapi.Verdict) {
		t.Helper()
		v, err := c.Check(ctx, secret.FromString(k))
		out.add(v, err)
		if v != want {
			t.Errorf("%s: verdict %v (err %v), want %v", name, v, err, want)
		}
	}
	check("valid", key, vendorapi.Valid)
	check("authentication_error", bogus, vendorapi.Invalid)
	f.Faults.Add(fault.Rule{Op: vendorfake.OpAnthropicModels, Status: 403, Times: 1})
	check("permission_error", key, vendorapi.Indeterminate)
	f.Faults.Add(fault.Rule{Op: vendorfake.OpAnthropicModels, Status: 529, Times: 2})
	check("overloaded", key, vendorapi.Indeterminate)

	org := c.Org(secret.FromString(admin))
	var d vendorapi.Disabler = org
	err := d.Disable(ctx, id)
	out.add(err)
	if err != nil || f.Status(id) != "inactive" {
		t.Fatalf("disable: err %v, status %q", err, f.Status(id))
	}
	check("inactive key", key, vendorapi.Invalid)
	k, err := org.Key(ctx, id)
	out.add(k, err)
	if err != nil || k.Status != "inactive" || k.Hint == "" {
		t.Fatalf("get key: %+v %v", k, err)
	}
	_, err = org.SetStatus(ctx, id, "active")
	out.add(err)
	check("reactivated", key, vendorapi.Valid)
	// A bad admin key is an error, cut.
	_, err = c.Org(secret.FromString(bogus)).Keys(ctx, "")
	var e *vendorapi.Error
	if !errors.As(err, &e) || e.Status != 401 || e.Type != "authentication_error" {
		t.Errorf("list with a bad admin key: %v", err)
	}
	out.add(err)
	out.check(t)
}

func TestXAIVerdicts(t *testing.T) {
	t.Parallel()
	f, c, _ := startXAI(t, vendorapi.Options{MaxRetries: 1})
	var out outputs
	_, good := f.AddKey("team-1", "good", false)
	_, disabled := f.AddKey("team-1", "off", true)
	bogus := "xai-" + strings.Repeat("Qw3", 27)
	out.secret(good, disabled, bogus)
	ctx := context.Background()
	cases := []struct {
		name  string
		key   string
		fault *fault.Rule
		want  vendorapi.Verdict
	}{
		{"valid", good, nil, vendorapi.Valid},
		{"400 invalid", bogus, nil, vendorapi.Invalid},
		{"200 but disabled", disabled, nil, vendorapi.Invalid},
		{"503", good, &fault.Rule{Op: vendorfake.OpXAIAPIKey, Status: 503}, vendorapi.Indeterminate},
		{"403", good, &fault.Rule{Op: vendorfake.OpXAIAPIKey, Status: 403}, vendorapi.Indeterminate},
	}
	for _, tc := range cases {
		f.Faults.Clear()
		if tc.fault != nil {
			f.Faults.Add(*tc.fault)
		}
		v, err := c.Check(ctx, secret.FromString(tc.key))
		out.add(v, err)
		if v != tc.want {
			t.Errorf("%s: verdict %v (err %v), want %v", tc.name, v, err, tc.want)
		}
	}
	out.check(t)
}

// TestPaginationCalls: listing N keys costs ⌈N/page⌉ calls for each vendor's cursor.
func TestPaginationCalls(t *testing.T) {
	t.Parallel()
	const n, size = 7, 3
	want := (n + size - 1) / size
	ctx := context.Background()
	var out outputs

	fo, co, _ := startOpenAI(t, vendorapi.Options{PageSize: size})
	adminO := fo.AddAdminKey()
	out.secret(adminO)
	proj := co.Project(secret.FromString(adminO), "proj_1")
	out.mint(t, proj, n)
	sas, err := proj.List(ctx)
	out.add(sas, err)
	if err != nil || len(sas) != n || fo.Faults.Count(vendorfake.OpOpenAIListServiceAccounts) != want {
		t.Errorf("openai: %d service accounts in %d calls (err %v), want %d in %d", len(sas), fo.Faults.Count(vendorfake.OpOpenAIListServiceAccounts), err, n, want)
	}
	keys, err := proj.APIKeys(ctx)
	out.add(keys, err)
	if err != nil || len(keys) != n || fo.Faults.Count(vendorfake.OpOpenAIListAPIKeys) != want || keys[0].OwnerType != "service_account" || keys[0].OwnerID == "" {
		t.Errorf("openai keys: %d in %d calls (err %v), first %+v", len(keys), fo.Faults.Count(vendorfake.OpOpenAIListAPIKeys), err, keys)
	}

	fa, ca, _ := startAnthropic(t, vendorapi.Options{PageSize: size})
	adminA := fa.AddAdminKey()
	out.secret(adminA)
	for i := range n {
		_, v := fa.AddKey(fmt.Sprintf("k%d", i))
		out.secret(v)
	}
	aks, err := ca.Org(secret.FromString(adminA)).List(ctx)
	out.add(aks, err)
	if err != nil || len(aks) != n || fa.Faults.Count(vendorfake.OpAnthropicListKeys) != want {
		t.Errorf("anthropic: %d keys in %d calls (err %v)", len(aks), fa.Faults.Count(vendorfake.OpAnthropicListKeys), err)
	}

	fx, cx, _ := startXAI(t, vendorapi.Options{PageSize: size})
	mgmt := fx.AddManagementKey()
	out.secret(mgmt)
	team := cx.Team(secret.FromString(mgmt), "team-1", nil)
	out.mint(t, team, n)
	xks, err := team.List(ctx)
	out.add(xks, err)
	if err != nil || len(xks) != n || fx.Faults.Count(vendorfake.OpXAIListKeys) != want {
		t.Errorf("xai: %d keys in %d calls (err %v)", len(xks), fx.Faults.Count(vendorfake.OpXAIListKeys), err)
	}
	out.check(t)
}

func TestOpenAIMintCheckDisable(t *testing.T) {
	t.Parallel()
	f, c, _ := startOpenAI(t, vendorapi.Options{})
	admin := f.AddAdminKey()
	var out outputs
	out.secret(admin)
	ctx := context.Background()
	proj := c.Project(secret.FromString(admin), "proj_1")
	m, err := proj.Mint(ctx, "keylease-rot-1")
	if err != nil {
		t.Fatal(err)
	}
	key := string(m.Key.Bytes())
	out.secret(key)
	out.add(m, err)
	if !strings.HasPrefix(key, "sk-svcacct-") || !strings.Contains(key, "T3BlbkFJ") || !strings.HasPrefix(m.ID, "svc_acct_") || m.KeyID == "" {
		t.Fatalf("minted %q id %q key id %q: not the real shapes", key[:11], m.ID, m.KeyID)
	}
	if v, err := c.Check(ctx, m.Key); v != vendorapi.Valid {
		t.Fatalf("minted key: %v %v", v, err)
	}
	// A service account's key cannot be deleted by id (as at OpenAI).
	err = proj.DeleteAPIKey(ctx, m.KeyID)
	out.add(err)
	var e *vendorapi.Error
	if !errors.As(err, &e) || e.Status != 400 {
		t.Errorf("delete service-account key: %v, want 400", err)
	}
	if err := proj.Disable(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Check(ctx, m.Key); v != vendorapi.Invalid {
		t.Fatalf("after disable: %v %v", v, err)
	}
	err = proj.Disable(ctx, m.ID)
	out.add(err)
	if !errors.As(err, &e) || e.Status != 404 {
		t.Errorf("second delete: %v, want 404", err)
	}
	out.check(t)
}

// TestCreateNotRetriedOn5xx: a create that failed with 500 may have
// created; repeating it could mint twice. 429 is safe to repeat.
func TestCreateNotRetriedOn5xx(t *testing.T) {
	t.Parallel()
	f, c, sl := startOpenAI(t, vendorapi.Options{})
	admin := f.AddAdminKey()
	proj := c.Project(secret.FromString(admin), "proj_1")
	f.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAICreateServiceAccount, Status: 500, Times: 1})
	_, err := proj.Mint(context.Background(), "a")
	if err == nil || f.Faults.Count(vendorfake.OpOpenAICreateServiceAccount) != 1 {
		t.Fatalf("500 on create: err %v after %d calls, want an error after 1", err, f.Faults.Count(vendorfake.OpOpenAICreateServiceAccount))
	}
	f.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAICreateServiceAccount, Kind: fault.Throttle, Delay: 2 * time.Second, Times: 1})
	m, err := proj.Mint(context.Background(), "b")
	if err != nil || f.ServiceAccounts("proj_1") != 1 {
		t.Fatalf("429 then ok: err %v, %d service accounts, want 1", err, f.ServiceAccounts("proj_1"))
	}
	if got := sl.got(); len(got) != 1 || got[0] != 2*time.Second {
		t.Errorf("waits %v, want [2s] from Retry-After", got)
	}
	leakcheck.Assert(t, "error", []byte(err2s(err)), string(m.Key.Bytes()), admin)
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	f, c, sl := startXAI(t, vendorapi.Options{MaxWait: 5 * time.Second})
	_, good := f.AddKey("t", "k", false)
	f.Faults.Add(fault.Rule{Op: vendorfake.OpXAIAPIKey, Kind: fault.Throttle, Delay: 3 * time.Second, Times: 1})
	f.Faults.Add(fault.Rule{Op: vendorfake.OpXAIAPIKey, Status: 503, Delay: 60 * time.Second, Times: 1})
	v, err := c.Check(context.Background(), secret.FromString(good))
	if v != vendorapi.Valid {
		t.Fatalf("verdict %v %v", v, err)
	}
	if got := sl.got(); len(got) != 2 || got[0] != 3*time.Second || got[1] != 5*time.Second {
		t.Errorf("waits %v, want [3s 5s] (Retry-After, then capped by MaxWait)", got)
	}
}

// TestRetryAfterRealClock runs one real 1 s wait, with the default sleeper.
func TestRetryAfterRealClock(t *testing.T) {
	t.Parallel()
	f, err := vendorfake.StartAnthropic()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	c, err := vendorapi.NewAnthropic(vendorapi.Options{Getenv: env(map[string]string{"ANTHROPIC_BASE_URL": f.URL()})})
	if err != nil {
		t.Fatal(err)
	}
	_, key := f.AddKey("k")
	f.Faults.Add(fault.Rule{Op: vendorfake.OpAnthropicModels, Kind: fault.Throttle, Delay: time.Second, Times: 1})
	start := time.Now()
	v, err := c.Check(context.Background(), secret.FromString(key))
	if el := time.Since(start); v != vendorapi.Valid || el < time.Second || el > 5*time.Second {
		t.Fatalf("verdict %v %v after %s, want valid after about 1s", v, err, el)
	}
}

func TestRetryStopsAtDeadline(t *testing.T) {
	t.Parallel()
	f, c, sl := startOpenAI(t, vendorapi.Options{})
	_, good := f.AddKey("p", "k", false)
	f.Faults.Add(fault.Rule{Op: vendorfake.OpOpenAIModels, Kind: fault.Throttle, Delay: 20 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := c.Check(ctx, secret.FromString(good))
	var e *vendorapi.Error
	if v != vendorapi.Indeterminate || !errors.As(err, &e) || !e.Throttled() || len(sl.got()) != 0 {
		t.Fatalf("verdict %v err %v waits %v: want indeterminate at once, no wait past the deadline", v, err, sl.got())
	}
}

func TestBodyCap(t *testing.T) {
	t.Parallel()
	f, c, _ := startOpenAI(t, vendorapi.Options{MaxBody: 64})
	admin := f.AddAdminKey()
	_, _, err := c.Project(secret.FromString(admin), "p").CreateServiceAccount(context.Background(), "big")
	if !errors.Is(err, vendorapi.ErrBodyTooLarge) {
		t.Fatalf("err %v, want ErrBodyTooLarge", err)
	}
	leakcheck.Assert(t, "error", []byte(err.Error()), admin)
}

func TestXAIPropagationAndDelete(t *testing.T) {
	t.Parallel()
	f, c, _ := startXAI(t, vendorapi.Options{})
	f.PropagationPolls = 2
	mgmt := f.AddManagementKey()
	team := c.Team(secret.FromString(mgmt), "team-1", nil)
	ctx := context.Background()
	m, err := team.Mint(ctx, "rot")
	if err != nil {
		t.Fatal(err)
	}
	key := string(m.Key.Bytes())
	if !strings.HasPrefix(key, "xai-") || len(key) != 84 {
		t.Fatalf("minted key is not xai- + 80 characters (len %d)", len(key))
	}
	var polls []bool
	for range 2 {
		p, err := team.Propagated(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		polls = append(polls, p)
	}
	if polls[0] || !polls[1] {
		t.Errorf("propagation polls %v, want [false true]", polls)
	}
	if err := team.Disable(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Check(ctx, m.Key); v != vendorapi.Invalid || f.Keys("team-1") != 0 {
		t.Errorf("after delete: %v, %d keys", v, f.Keys("team-1"))
	}
	err = team.Disable(ctx, m.ID)
	var e *vendorapi.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Code != "5" {
		t.Errorf("second delete: %v, want 404 code 5", err)
	}
	leakcheck.Assert(t, "error", []byte(err2s(err)), key, mgmt)
}

func TestBaseURLFromEnv(t *testing.T) {
	t.Parallel()
	if _, err := vendorapi.NewOpenAI(vendorapi.Options{Getenv: env(map[string]string{"OPENAI_BASE_URL": "api.openai.com"})}); err == nil || !strings.Contains(err.Error(), "OPENAI_BASE_URL") {
		t.Errorf("a URL without scheme: err %v, want one naming OPENAI_BASE_URL", err)
	}
	if _, err := vendorapi.NewXAI(vendorapi.Options{Getenv: env(map[string]string{"XAI_MANAGEMENT_URL": "ftp://x"})}); err == nil || !strings.Contains(err.Error(), "XAI_MANAGEMENT_URL") {
		t.Errorf("ftp management URL: err %v", err)
	}
	// Defaults need no environment; a check against them is never sent here.
	for _, mk := range []func() error{
		func() error { _, err := vendorapi.NewOpenAI(vendorapi.Options{}); return err },
		func() error { _, err := vendorapi.NewAnthropic(vendorapi.Options{}); return err },
		func() error { _, err := vendorapi.NewXAI(vendorapi.Options{}); return err },
	} {
		if err := mk(); err != nil {
			t.Errorf("defaults: %v", err)
		}
	}
}

// The key goes only into headers: a server that records URLs and bodies never sees it.
func TestKeyOnlyInHeader(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen strings.Builder
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fmt.Fprintf(&seen, "%s %s\n", r.Method, r.URL.String())
		mu.Unlock()
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{}`))
	})
	srv, err := startHandler(h)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	key := "sk-proj-" + strings.Repeat("Kk8", 30)
	g := env(map[string]string{"OPENAI_BASE_URL": srv.URL, "ANTHROPIC_BASE_URL": srv.URL, "XAI_BASE_URL": srv.URL, "XAI_MANAGEMENT_URL": srv.URL})
	o, _ := vendorapi.NewOpenAI(vendorapi.Options{Getenv: g})
	a, _ := vendorapi.NewAnthropic(vendorapi.Options{Getenv: g})
	x, _ := vendorapi.NewXAI(vendorapi.Options{Getenv: g})
	v := secret.FromString(key)
	ctx := context.Background()
	_, _ = o.Check(ctx, v)
	_, _ = a.Check(ctx, v)
	_, _ = x.Check(ctx, v)
	_, _ = o.Project(v, "p").List(ctx)
	_, _ = a.Org(v).List(ctx)
	_, _ = x.Team(v, "t", nil).List(ctx)
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(seen.String(), "/models") {
		t.Fatalf("server saw no calls: %q", seen.String())
	}
	leakcheck.Assert(t, "request lines", []byte(seen.String()), key)
}
