package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keylease/keylease/internal/testkit"
)

// TestKeyInSettingPathComponent: a temp directory whose name is 40
// characters of letters and digits (as t.TempDir makes for a long test
// name) has the shape of an AWS secret key; as an existing path it is a
// setting, not a key. The same text naming nothing, and a vendor-prefixed
// key even as an existing file name, are still refused.
func TestKeyInSettingPathComponent(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "TestExecMintedSignalDuringSetup123456789")
	testkit.Must(t, os.MkdirAll(dir, 0o700))
	policy := filepath.Join(dir, "policy.json")
	testkit.Must(t, os.WriteFile(policy, []byte("{}"), 0o600))
	if det, bad := keyInSetting(policy); bad {
		t.Fatalf("an existing path was taken for a key (%s)", det)
	}
	if _, bad := keyInSetting(filepath.Join(filepath.Dir(dir), "TestExecMintedSignalDuringSetup12345678X", "policy.json")); !bad {
		t.Fatal("the 40-character shape naming nothing was accepted: the check that the path exists is not the one deciding")
	}
	if det, bad := keyInSetting(filepath.Join(dir, "record.json")); bad {
		t.Fatalf("a record to be written in an existing directory was taken for a key (%s)", det)
	}
	if _, bad := keyInSetting(filepath.Join(dir, "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12")); !bad {
		t.Fatal("a key-shaped file name in an existing directory was accepted")
	}
	if _, bad := keyInSetting("wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12"); !bad {
		t.Fatal("a bare key-shaped value was accepted (its directory is the working directory)")
	}
	key := filepath.Join(dir, "sk-proj-FAKEq8Zt3Lm9Wx2Rv7Np4Kd6Hs1Yb5Gc0JfRw4Tq7Zx")
	testkit.Must(t, os.WriteFile(key, nil, 0o600))
	if _, bad := keyInSetting(key); !bad {
		t.Fatal("a vendor-prefixed key was accepted because a file of that name exists")
	}
}
