package scansource

import "errors"

// ErrNotRegular is returned by ReadFile for a path that is not a regular
// file when it is opened (a symbolic link, a FIFO or a device put in place
// of a file after the walk saw it): keylease scan reads only regular files
// and never follows links.
var ErrNotRegular = errors.New("not a regular file (links, FIFOs and devices are not scanned)")
