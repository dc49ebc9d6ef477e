// Package lifecycle orchestrates the lifecycle commands on the steps the
// lease path already has (registry, AWS session, Secrets Manager, masking,
// sealed records): Rotate, Revoke, Incident and Audit. Each reports through
// one journal (progress lines, record steps, test crash points).
//
// Rotate is a state machine on Secrets Manager's staging labels, run by
// keylease itself (no Lambda): create → test → promote → retire → registry →
// record. Its progress lives in the secret, not in the process, so a rerun
// after a crash at any point resumes instead of starting over:
//
//   - the rotation id is derived from the vendor, the environment, the
//     AWSCURRENT version it replaces and the attempt (AttemptTag counts
//     rejected keys, whose versions keep their ids); it is the
//     PutSecretValue ClientRequestToken, so the new version's id (a retried
//     put is a no-op), and part of the minted key's name (a rerun finds a
//     key minted before the crash);
//   - a version labelled AWSPENDING (and not AWSCURRENT) is resumed, and is
//     promoted only after the vendor said it is valid;
//   - after promotion AWSPENDING stays on the new version until the end, so
//     a rotation promoted but not finished is seen as such; a version
//     keylease put is recognised by its id, any other (staged) by the tag
//     written before the move;
//   - the tag keylease:rotation names the new and old versions, when
//     promotion happened, and whether the old key is retired and the
//     registry updated. A rerun completes what it says is pending; the next
//     rotate (or audit) retires a key whose retire-after had not passed.
//
// Revoke keeps its progress in the tag keylease:revocation and puts a
// value-free tombstone as AWSCURRENT (package keyform), which every lease
// refuses. Audit reads version access dates before any value and tags the
// versions it reads, so its own reads are never findings.
//
// Secrets are stored in the JSON form of package keyform, so each version
// carries the vendor ids of its own key and retirement never guesses.
package lifecycle
