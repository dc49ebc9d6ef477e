// Package githubapi is keylease's GitHub REST layer on go-github: the
// registry pull request (branch from the default branch, file update, PR
// created or reused), the audit issue found by label, secret-name lists,
// workflow runs and jobs, and job-log and artifact downloads.
//
// The contract:
//   - GITHUB_API_URL is used exactly as given (GHES: https://HOST/api/v3),
//     with a trailing slash added as go-github requires; the token comes from
//     GITHUB_TOKEN. Both are read through an injected Getenv.
//   - Primary rate limits (*github.RateLimitError) wait until the reset time
//     and secondary ones (*github.AbuseRateLimitError) wait Retry-After, at
//     most Options.MaxRetries times, each wait capped by Options.MaxWait and
//     never past the context's deadline.
//   - Lists page with ListOptions and Response.NextPage (per_page 100).
//   - Logs and artifacts: GitHub answers 302 with a short-lived URL; it is
//     fetched at once WITHOUT the Authorization header (the URL is itself the
//     credential, and the token must not travel to the storage host), the
//     body capped by Options.MaxDownload, an artifact's zip read in memory.
//   - Pace (a RoundTripper, for the audit's many calls) keeps requests in
//     flight bounded and the primary budget unspent before GitHub refuses,
//     and resends a GET after Retry-After; ETags makes GETs conditional
//     (a 304 costs no budget).
//   - Errors name the call and the HTTP status; the token never appears.
package githubapi
