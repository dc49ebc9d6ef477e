package child

import "sync"

// active holds the pids of the children of the Runs in progress, so that
// one Run's descendant sweep never touches another Run's child. Start and
// registration happen under activeMu, as does the sweep's walk.
var (
	activeMu sync.Mutex
	active   = map[int]bool{}
)
