// Package lifecycle orchestrates the lifecycle commands on the steps the
// lease path already has (registry, AWS session, Secrets Manager, masking,
// sealed records): Rotate today; revoke, incident and audit reuse its parts.
//
// Rotate is a state machine on Secrets Manager's staging labels, run by
// keylease itself (no Lambda): create → test → promote → retire → registry →
// record. Its progress lives in the secret, not in the process, so a rerun
// after a crash at any point resumes instead of starting over:
//
//   - the rotation id is derived from the vendor, the environment and the
//     AWSCURRENT version it replaces; it is the PutSecretValue
//     ClientRequestToken (a retried put is a no-op) and part of the minted
//     key's name (a rerun finds a key minted before the crash);
//   - a version labelled AWSPENDING (and not AWSCURRENT) is resumed, and is
//     promoted only after the vendor said it is valid;
//   - the tag keylease:rotation, written before AWSCURRENT moves, names the
//     new and old versions, when promotion happened, and whether the old key
//     is retired and the registry updated. A rerun completes what it says is
//     pending; the next rotate (or audit) retires a key whose retire-after
//     had not passed.
//
// Secrets are stored in the JSON form of package keyform, so each version
// carries the vendor ids of its own key and retirement never guesses.
package lifecycle
