package vendorapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/keylease/keylease/secret"
)

// ErrNoKeyID is KeyID's answer when xAI named no usable key id.
var ErrNoKeyID = errors.New("xai check key: the answer carries no api_key_id")

// KeyID asks xAI which key key is (GET /api-key's api_key_id), for a stored
// key that does not carry its id: revocation then deletes exactly this key
// instead of guessing. The id is returned only when it has an id's shape.
func (x *XAI) KeyID(ctx context.Context, key secret.Value) (string, error) {
	var w struct {
		ID string `json:"api_key_id"`
	}
	if err := x.do(ctx, call{op: "check key", method: http.MethodGet, url: x.base + "/api-key", auth: bearer(key), idempotent: true}, &w); err != nil {
		return "", err
	}
	id := safeToken(w.ID)
	if id == "" {
		return "", ErrNoKeyID
	}
	return id, nil
}
