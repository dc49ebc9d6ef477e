package scansource

import "errors"

// ErrNotRegular is returned by ReadFile for a path that is not a regular
// file when it is opened (a symbolic link, a FIFO or a device put in place
// of a file after the walk saw it): keylease scan reads only regular files
// and never follows links.
var ErrNotRegular = errors.New("not a regular file (links, FIFOs and devices are not scanned)")

// ErrNotDirectory is returned by Walk for a directory that is not one when
// it is opened (a link or a file put in its place after its parent was
// listed): the walk never follows a link into another tree.
var ErrNotDirectory = errors.New("not a directory any more (replaced while the walk ran; links are not followed)")
