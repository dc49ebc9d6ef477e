package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keylease/keylease/keyform"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/lifecycle"
	"github.com/keylease/keylease/secret"
	"github.com/keylease/keylease/vendorapi"
)

// demoIncident runs `keylease incident` on the emulators, through the same
// lifecycle.RunIncident: the leaked key is revoked at the vendor, a
// replacement rotated in, the leaked version unlabelled, and a directory
// scanned in which a build log holds the key base64-encoded. The scan finds
// it by fingerprint (exit 4) and the record names the file and line, not
// the value. The planted copy lives outside the demo's directory (whose
// files the demo's canary checks) and is removed at the end.
func demoIncident(ctx context.Context, d *demoSetup, getenv func(string) string, out, runnerLog *capture, check func(bool, string, ...any)) ([]secret.Value, error) {
	fmt.Fprintln(out, "\n== incident (keylease incident --vendor openai --env ci --type confirmed-leak --scan DIR) ==")
	o, err := demoOpenAI(ctx, d, getenv, "demo/openai/incident-admin", "demo/openai/incident-ci", "demo-incident")
	keys := o.keys
	if err != nil {
		return keys, err
	}
	defer func() { _ = o.oa.Close() }()
	reg, pol := filepath.Join(d.dir, "incident-registry.yaml"), filepath.Join(d.dir, "incident-policy.json")
	for p, s := range map[string]string{reg: demoMintRegistry("incident"), pol: demoRotatePolicy} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			return keys, err
		}
	}
	planted, err := os.MkdirTemp("", "keylease-demo-leak-")
	if err != nil {
		return keys, err
	}
	defer func() { _ = os.RemoveAll(planted) }()
	logPath := filepath.Join(planted, "build.log")
	leaked := "step 4: curl -H 'X-Debug: " + base64.StdEncoding.EncodeToString(o.key.Key.Bytes()) + "'\n"
	if err := os.WriteFile(logPath, []byte("step 3: go test ./...\n"+leaked), 0o600); err != nil {
		return keys, err
	}
	pio := lease.IO{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Commands: runnerLog, Getenv: o.getenv, Environ: func() []string { return nil }}
	session := lease.Options{RegistryPath: reg, PolicyPath: pol, Env: "ci", RoleARN: d.stack.RoleARN,
		OIDCIssuer: o.getenv("KEYLEASE_OIDC_ISSUER"), Identity: lease.IdentityOIDC, Version: version}
	res, ierr := lifecycle.RunIncident(ctx, lifecycle.IncidentOptions{Lease: session, Vendor: "openai", Env: "ci", Type: "confirmed-leak",
		ScanPaths: []string{planted}, RegistryUpdate: lifecycle.UpdateWrite, RecordDir: filepath.Join(d.dir, "incident")}, pio)
	var le *lease.Error
	if res == nil || res.Record == nil {
		check(false, "the incident wrote no record: %v", ierr)
		return keys, nil
	}
	// The replacement's value joins the canary (it is live and must not be
	// printed either).
	if v, ok := d.stack.SM.Value(d.stack.Region, "demo/openai/incident-ci", res.Record.NewVersionID); ok {
		keys = append(keys, secret.FromString(v.String))
		if st, derr := keyform.Decode(secret.FromString(v.String)); derr == nil {
			keys = append(keys, st.Key)
		}
	}
	for _, f := range res.Record.Findings {
		fmt.Fprintf(out, "  found      %s:%d:%d\n", f.Path, f.Line, f.Column)
	}
	verdict, _ := o.check.Check(ctx, o.key.Key)
	check(verdict == vendorapi.Invalid, "the leaked key is dead at the vendor")
	check(errors.As(ierr, &le) && le.Code == exitLeak && res.ExitCode == exitLeak, "keylease incident exits 4: a copy of the leaked key was found")
	check(len(res.Record.Findings) == 1 && res.Record.Findings[0].Path == logPath && res.Record.Findings[0].Line == 2,
		"the base64 copy in build.log is found by fingerprint, and the record names the file and line, not the value")
	steps := map[string]string{}
	for _, s := range res.Record.Steps {
		steps[s.Name] = s.Outcome
	}
	check(steps["revoke"] == "done" && steps["rotate"] == "done" && steps["invalidate"] == "done" && res.Record.NewVersionID != "",
		"revoke → rotate a replacement → unlabel the leaked version, each step recorded")
	return keys, nil
}
