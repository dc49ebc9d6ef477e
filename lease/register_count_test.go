package lease

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/keylease/keylease/internal/testkit"
	"github.com/keylease/keylease/masking"
	"github.com/keylease/keylease/record"
	"github.com/keylease/keylease/secret"
)

// TestOwnCredentialsRegisteredRaw counts the ::add-mask:: output of one
// lease on a runner: the leased key with every form, and each of keylease's
// own credentials (OIDC request token, JWT, STS session) once, raw — not in
// every encoding, which was most of ~30 KB per lease.
func TestOwnCredentialsRegisteredRaw(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const key = "sk-proj-RegisterCount0123456789abcdefGHIJKLmnopqr"
	l := testkit.Fixture{Vendor: "openai", Env: "ci", MaxTTL: 300}.Start(t, key)
	l.Vars["GITHUB_ACTIONS"], l.Vars["RUNNER_TEMP"] = "true", l.Dir
	var out, errb, cmds bytes.Buffer
	res, err := Run(ctx, oidcOptions(l, os.Args[0], "-test.run=^$"),
		IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Commands: &cmds,
			Getenv: testkit.Getenv(l.Vars), Environ: testkit.Environ(nil)})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("lease: %v (exit %+v), stderr %q", err, res, errb.String())
	}

	var keyForms bytes.Buffer
	nKey, err := masking.RegisterWithRunner(&keyForms, secret.FromString(key))
	if err != nil {
		t.Fatal(err)
	}
	isKeyForm := map[string]bool{}
	for _, l := range strings.Split(keyForms.String(), "\n") {
		isKeyForm[l] = true
	}
	var own []string
	total := 0
	for _, l := range strings.Split(strings.TrimSuffix(cmds.String(), "\n"), "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			continue
		}
		total++
		if !isKeyForm[l] {
			own = append(own, strings.TrimPrefix(l, "::add-mask::"))
		}
	}
	if total-len(own) != nKey {
		t.Errorf("%d registrations of the leased key, want every form (%d)", total-len(own), nKey)
	}
	// The OIDC request token, the JWT, and the STS access key id, secret
	// key and session token: one command each.
	if len(own) == 0 || len(own) > 5 {
		t.Errorf("%d registrations of keylease's own credentials, want one per credential (at most 5)", len(own))
	}
	ownBytes, fullBytes := 0, 0
	for _, v := range own {
		ownBytes += len("::add-mask::") + len(v) + 1
		var b bytes.Buffer
		_, _ = masking.RegisterWithRunner(&b, secret.FromString(v))
		fullBytes += b.Len()
		if strings.Contains(v, "%0A") {
			t.Errorf("an own credential registered with a line break: not the raw value")
		}
	}
	if ownBytes*3 > fullBytes {
		t.Errorf("own credentials cost %d bytes of ::add-mask::, every form would be %d: want far less", ownBytes, fullBytes)
	}
	t.Logf("::add-mask:: per lease: %d bytes (%d commands); own credentials %d bytes raw vs %d in every form; leased key %d bytes (%d commands)",
		cmds.Len(), total, ownBytes, fullBytes, keyForms.Len(), nKey)
	rb, err := os.ReadFile(res.RecordPath)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := record.Decode(rb)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Masking.RunnerRegistrations != total {
		t.Errorf("record says %d runner registrations, the log holds %d", rec.Masking.RunnerRegistrations, total)
	}
}
