package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"unicode/utf8"
)

// MaxFileSize bounds each configuration file. Real files are a few KiB; the
// bound keeps a mistaken path (a log, a binary, /dev/zero) from costing time
// or memory.
const MaxFileSize = 1 << 20

// maxDepth bounds nesting; the schemas need four levels.
const maxDepth = 32

// readConfig reads path, refusing anything larger than MaxFileSize before
// reading it all (Stat for regular files, a LimitReader for the rest).
func readConfig(path, flagHint string) ([]byte, *Problem) {
	f, err := os.Open(path) //nolint:gosec // G304: reading the configuration file the user named is the point
	if err != nil {
		msg := fmt.Sprintf("cannot open: %v; pass the right path with %s", errors.Unwrap(err), flagHint)
		if errors.Is(err, fs.ErrNotExist) {
			msg = "file does not exist; create it (see README.md, configuration reference) or pass its path with " + flagHint
		}
		return nil, &Problem{File: path, Msg: msg}
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err == nil {
		if st.IsDir() {
			return nil, &Problem{File: path, Msg: "is a directory; pass the file's path with " + flagHint}
		}
		if st.Mode().IsRegular() && st.Size() > MaxFileSize {
			return nil, &Problem{File: path, Msg: fmt.Sprintf("file is %d bytes, larger than the %d-byte limit; a configuration file holds refs only, check that %s names the right file", st.Size(), MaxFileSize, flagHint)}
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Problem{File: path, Msg: fmt.Sprintf("cannot read: %v; check the file", errors.Unwrap(err))}
	}
	if len(b) > MaxFileSize {
		return nil, &Problem{File: path, Msg: fmt.Sprintf("file is larger than the %d-byte limit; a configuration file holds refs only, check that %s names the right file", MaxFileSize, flagHint)}
	}
	return b, nil
}

// checkText refuses what no configuration file should contain: more than
// MaxFileSize bytes, no content, bytes that are not UTF-8 and control
// characters. It returns the data without a UTF-8 byte order mark.
func checkText(file string, data []byte) ([]byte, *Problem) {
	if len(data) > MaxFileSize {
		return nil, &Problem{File: file, Msg: fmt.Sprintf("file is larger than the %d-byte limit; check that the right file is named", MaxFileSize)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Problem{File: file, Msg: "file is empty; write the configuration (see README.md, configuration reference)"}
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return nil, &Problem{File: file, Line: line, Column: col, Msg: "invalid UTF-8 byte; save the file as UTF-8 text"}
		case r == '\n':
			line, col = line+1, 0
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f, r >= 0x80 && r < 0xa0:
			return nil, &Problem{File: file, Line: line, Column: col, Msg: fmt.Sprintf("control character U+%04X; remove it", r)}
		}
		i += size
		col++
	}
	return data, nil
}
