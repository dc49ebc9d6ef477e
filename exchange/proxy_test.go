package exchange_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keylease/keylease/exchange"
	"github.com/keylease/keylease/internal/loopback"
	"github.com/keylease/keylease/internal/oidcfake"
	"github.com/keylease/keylease/internal/smfake"
	"github.com/keylease/keylease/internal/stsfake"
	"github.com/keylease/keylease/secret"
)

// TestProxy shows HTTPS_PROXY is honoured end to end: the emulators serve TLS
// under names (*.keylease.test) that only the proxy can resolve, so a lease
// succeeds only if the OIDC client and both SDK clients tunnel through the
// proxy (CONNECT). Go's http.ProxyFromEnvironment reads the environment once
// per process, so the lease runs in a child test process with the variables
// set. NO_PROXY is shown on the transport's proxy function in the child (a
// bypassed name cannot be resolved here, so it is not exercised over the wire).
func TestProxy(t *testing.T) {
	if os.Getenv("KEYLEASE_PROXY_CHILD") == "1" {
		proxyChild(t)
		return
	}
	t.Parallel()
	dir := t.TempDir()
	caPEM, tlsCfg := testCerts(t, "oidc.keylease.test", "sts.keylease.test", "sm.keylease.test")
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	listen := func() (net.Listener, string) {
		ln, err := loopback.Listen()
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		return ln, port
	}
	oln, oport := listen()
	sln, sport := listen()
	mln, mport := listen()
	issuer := "https://oidc.keylease.test:" + oport
	o, err := oidcfake.New(issuer)
	if err != nil {
		t.Fatal(err)
	}
	st := stsfake.New(issuer)
	st.SetHTTPClient(&http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext:     loopbackDialer,
	}})
	sm := smfake.New()
	sm.SetKeyLookup(func(akid string) (smfake.Key, bool) {
		c, ok := st.Lookup(akid)
		return smfake.Key{SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expires: c.Expiration}, ok
	})
	sm.Put("us-east-1", "kv/openai/ci", smfake.Value{String: openaiKey})
	for _, s := range []*loopback.Server{
		loopback.Serve(oln, o, tlsCfg), loopback.Serve(sln, st, tlsCfg), loopback.Serve(mln, sm, tlsCfg),
	} {
		t.Cleanup(func() { _ = s.Close() })
	}

	proxy := &countingProxy{hosts: map[string]int{}}
	pl, err := loopback.Start(proxy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pl.Close() })

	env := []string{
		"KEYLEASE_PROXY_CHILD=1",
		"HTTPS_PROXY=" + pl.URL, "NO_PROXY=bypass.keylease.test",
		"SSL_CERT_FILE=" + caFile, "AWS_CA_BUNDLE=" + caFile,
		"AWS_ENDPOINT_URL_STS=https://sts.keylease.test:" + sport,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=https://sm.keylease.test:" + mport,
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
		"KEYLEASE_TEST_ISSUER=" + issuer,
		"KEYLEASE_TEST_FP=" + secret.FromString(openaiKey).Fingerprint(),
	}
	env = append(env, o.Env()...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), strings.EqualFold(k, "HTTP_PROXY"), strings.EqualFold(k, "HTTPS_PROXY"),
			strings.EqualFold(k, "NO_PROXY"), k == "SSL_CERT_FILE", k == "SSL_CERT_DIR", strings.HasPrefix(k, "ACTIONS_"):
			continue
		}
		env = append(env, kv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestProxy$", "-test.count=1", "-test.v") //nolint:gosec // re-runs this test binary itself
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	assertNoSecret(t, string(out), o.RequestToken(), openaiKey)
	if err != nil || !strings.Contains(string(out), "PROXY-CHILD-OK") {
		t.Fatalf("child lease through the proxy failed: %v\n%s", err, out)
	}
	for _, h := range []string{"oidc.keylease.test", "sts.keylease.test", "sm.keylease.test"} {
		if proxy.count(h) == 0 {
			t.Errorf("no CONNECT to %s through the proxy (saw %v)", h, proxy.snapshot())
		}
	}
	if proxy.count("bypass.keylease.test") != 0 {
		t.Error("a NO_PROXY host went through the proxy")
	}
	if o.Faults.Count(oidcfake.OpToken) != 1 || st.Faults.Count(stsfake.OpAssumeRoleWithWebIdentity) != 1 || sm.Faults.Count(smfake.OpGetSecretValue) != 1 {
		t.Errorf("calls: token %d, sts %d, sm %d; want 1 each", o.Faults.Count(oidcfake.OpToken),
			st.Faults.Count(stsfake.OpAssumeRoleWithWebIdentity), sm.Faults.Count(smfake.OpGetSecretValue))
	}
}

func proxyChild(t *testing.T) {
	ctx := context.Background()
	cfg, err := exchange.OIDCConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Issuer = os.Getenv("KEYLEASE_TEST_ISSUER")
	base, err := exchange.BaseConfig(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := exchange.AssumeRole(ctx, base, exchange.NewOIDC(cfg), "arn:aws:iam::123456789012:role/keylease-ci", exchange.SessionName("1", "1"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := exchange.NewFetcher(sess.Config(base)).Fetch(ctx, []exchange.Request{{Label: "kv://openai/ci", SecretID: "kv/openai/ci", RequiredPrefix: "sk-"}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Value.Fingerprint() != os.Getenv("KEYLEASE_TEST_FP") {
		t.Fatal("the value fetched through the proxy is not the seeded one")
	}
	oidcTr, ok := exchange.NewHTTPClient().Transport.(*http.Transport)
	if !ok {
		t.Fatal("the OIDC client's transport is not an *http.Transport")
	}
	for name, tr := range map[string]*http.Transport{"oidc": oidcTr, "aws": exchange.NewAWSHTTPClient().GetTransport()} {
		for host, wantProxy := range map[string]bool{"bypass.keylease.test": false, "sm.keylease.test": true} {
			req, _ := http.NewRequest(http.MethodGet, "https://"+host+"/", nil)
			u, err := tr.Proxy(req)
			if err != nil || (u != nil) != wantProxy {
				t.Fatalf("%s client: proxy for %s = %v, %v; want proxied=%v", name, host, u, err, wantProxy)
			}
		}
	}
	t.Log("PROXY-CHILD-OK")
}

// loopbackDialer resolves *.keylease.test to 127.0.0.1.
func loopbackDialer(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(host, ".keylease.test") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// countingProxy is a CONNECT proxy that resolves *.keylease.test to
// 127.0.0.1 and counts tunnels per host.
type countingProxy struct {
	mu    sync.Mutex
	hosts map[string]int
}

func (p *countingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.Host)
	p.mu.Lock()
	p.hosts[host]++
	p.mu.Unlock()
	if r.Method != http.MethodConnect || !strings.HasSuffix(host, ".keylease.test") {
		http.Error(w, "only CONNECT to *.keylease.test", http.StatusForbidden)
		return
	}
	dst, err := loopbackDialer(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, "dial failed", http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = dst.Close()
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		_ = dst.Close()
		return
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
	go func() {
		_, _ = io.Copy(dst, bufio.NewReader(buf))
		_ = dst.Close()
	}()
	_, _ = io.Copy(conn, dst)
	_ = conn.Close()
}

func (p *countingProxy) count(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hosts[host]
}

func (p *countingProxy) snapshot() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[string]int{}
	for k, v := range p.hosts {
		m[k] = v
	}
	return m
}

// testCerts makes a CA and a server certificate for names.
func testCerts(t *testing.T, names ...string) ([]byte, *tls.Config) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "keylease test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}
