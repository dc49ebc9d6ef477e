//go:build !linux

package child

// ttyParent needs a Linux pty (see child_tty_linux_test.go).
func ttyParent() int { return 97 }
