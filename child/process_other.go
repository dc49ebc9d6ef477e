//go:build !linux

package child

// harden is Linux-only (prctl): elsewhere the child may read keylease's
// environment as far as the OS lets a same-user process do so.
func harden() error { return nil }

// killDescendants is Linux-only (subreaper): on macOS a descendant that left
// the child's process group outlives the lease; on Windows the job object
// kills the whole tree instead.
func killDescendants() int { return 0 }
