package githubapi

import (
	"context"
	"net/url"
	"testing"

	"github.com/keylease/keylease/internal/leakcheck"
)

// TestDownloadErrorDropsSignature: a signed URL that no request can be
// built from fails without its query in the error (the signature is a
// credential, like the token).
func TestDownloadErrorDropsSignature(t *testing.T) {
	t.Parallel()
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	const sig = "sv2026sigQ7x9Lm2Pz4Rt8Wn3Kb6Yc1Hd5Jf0"
	u := &url.URL{Scheme: "https", Host: "blob example", Path: "/a", RawQuery: "sig=" + sig}
	_, err = c.download(context.Background(), "artifact", u)
	if err == nil {
		t.Fatal("a URL with a space in its host was downloaded")
	}
	leakcheck.Assert(t, "download error", []byte(err.Error()), sig)
}
