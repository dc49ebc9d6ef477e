package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"

	"github.com/keylease/keylease/detect"
	"github.com/keylease/keylease/lease"
	"github.com/keylease/keylease/registry"
	"github.com/keylease/keylease/safetext"
)

// sessionFlags registers the flags of every command that obtains an AWS
// session (exec, rotate and the lifecycle commands after them), with one
// meaning, default and help text each; setup receives --setup-timeout.
func sessionFlags(fs *flag.FlagSet, o *lease.Options, setup *string) {
	fs.StringVar(&o.RegistryPath, "registry", "configs/secrets-registry.yaml", "secrets registry `file`")
	fs.StringVar(&o.PolicyPath, "policy", "configs/secrets-policy.json", "secrets policy `file`")
	fs.StringVar(&o.RoleARN, "role-arn", "", "AWS role `ARN` to assume with the job's OIDC token (exec: the lease role; rotate: the rotation role)")
	fs.StringVar(&o.Region, "region", "", "AWS `region` (default AWS_REGION; ARN refs carry their own)")
	fs.StringVar(&o.Audience, "audience", "", "OIDC token audience (default sts.amazonaws.com)")
	fs.StringVar(&o.OIDCIssuer, "oidc-issuer", "", "expected OIDC issuer `URL` (default https://token.actions.githubusercontent.com)")
	fs.StringVar(&o.Identity, "identity", "", "oidc or aws-default (default: oidc when the runner offers it, else the AWS default chain outside Actions)")
	fs.StringVar(setup, "setup-timeout", "", "deadline for obtaining the AWS session and the values (token, STS, Secrets Manager), seconds or a Go duration (default 60s)")
}

// fillFromEnv sets each flag of names not given on the command line from
// KEYLEASE_<FLAG> (how the action and the reusable workflows pass their
// inputs) and returns where every set flag's value came from, for
// messages; inputs names the action input behind a flag, if any.
func fillFromEnv(fs *flag.FlagSet, names []string, inputs map[string]string, e *env) (map[string]string, error) {
	source := map[string]string{}
	fs.Visit(func(f *flag.Flag) { source[f.Name] = "--" + f.Name })
	onActions := e.getenv("GITHUB_ACTIONS") == "true"
	for _, name := range names {
		if source[name] != "" {
			continue
		}
		v, from := strings.TrimSpace(e.getenv(envName(name))), envName(name)
		if onActions && inputs[name] != "" {
			from += " (action input " + inputs[name] + ")"
		}
		if v == "" {
			continue
		}
		source[name] = from
		if err := fs.Set(name, v); err != nil {
			return nil, usageError("%s: %s", from, flagErrorText(err))
		}
	}
	return source, nil
}

// leaseExit is the exit of a command built on the lease steps: a
// *lease.Error's code, another error as is, else the lease's exit code.
func leaseExit(exitCode int, err error) error {
	var le *lease.Error
	if errors.As(err, &le) {
		return &exitError{code: le.Code, err: err}
	}
	if err != nil {
		return err
	}
	if exitCode != 0 {
		return &exitError{code: exitCode}
	}
	return nil
}

// checkSettings refuses a flag value of names that holds a control
// character or looks like a key (a setting is never a value), and an --env
// that is no registry environment name.
func checkSettings(fs *flag.FlagSet, names []string, source map[string]string, environment string) error {
	for _, name := range names {
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		v := f.Value.String()
		if strings.ContainsFunc(v, isControl) {
			return usageError("%s holds a control character; give a plain value", orFlag(source[name], name))
		}
		if det, bad := keyInSetting(v); bad {
			return usageError("%s looks like a key (%s detector), not a setting; it is not shown: remove it, and revoke and rotate that key, it has been exposed", orFlag(source[name], name), det)
		}
	}
	if environment != "" && !registry.ValidEnvName(environment) {
		return usageError("%s is not a registry environment name (e.g. ci)", orFlag(source["env"], "env"))
	}
	return nil
}

// keyInSetting reports whether a setting's value looks like a key. The
// shape-only rules (40 characters of base64, high entropy) also match a
// path component such as a test's temp directory; a value that names an
// existing file or directory is a path, whatever its shape, and so is a
// file to be written (a record) in an existing directory when its own name
// is clean. A vendor prefix (sk-…, AKIA…) is refused even then.
func keyInSetting(v string) (string, bool) {
	det, bad := safetext.Hit(v)
	if !bad || (det != detect.AWSSecretKey && det != detect.HighEntropy) {
		return det, bad
	}
	if _, err := os.Lstat(v); err == nil {
		return "", false
	}
	if dir := filepath.Dir(v); dir != "." && dir != v {
		if _, err := os.Lstat(dir); err == nil {
			if _, baseBad := safetext.Hit(filepath.Base(v)); !baseBad {
				return "", false
			}
		}
	}
	return det, bad
}
