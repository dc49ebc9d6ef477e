package scansource

import (
	"slices"
	"unicode/utf8"
)

// Expand calls emit for it, or for each entry when it is a zip archive (an
// archive inside an archive is emitted as bytes, not opened).
func Expand(it Item, lim Limits, emit func(Item) error) error {
	if !IsZip(it.Path) {
		return emit(it)
	}
	return Zip(it.Path, it.Data, lim, func(z Item) error {
		z.Commit = it.Commit
		return emit(z)
	})
}

// LineCounter turns byte offsets of one text (ascending or not) into
// 1-based lines and columns in Unicode code points.
type LineCounter struct {
	data   []byte
	starts []int // offset where each line starts
}

// NewLineCounter indexes the lines of data.
func NewLineCounter(data []byte) *LineCounter {
	lc := &LineCounter{data: data, starts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			lc.starts = append(lc.starts, i+1)
		}
	}
	return lc
}

// At is the line and column of offset off.
func (lc *LineCounter) At(off int) (line, col int) {
	off = min(max(off, 0), len(lc.data))
	i, found := slices.BinarySearch(lc.starts, off)
	if !found {
		i--
	}
	return i + 1, utf8.RuneCount(lc.data[lc.starts[i]:off]) + 1
}
