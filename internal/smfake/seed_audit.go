package smfake

import (
	"slices"
	"time"
)

// SetTag sets one tag on name in region (seeding a state another tool left).
func (s *Server) SetTag(region, name, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secretByName(region, name)
	if sec == nil {
		return
	}
	sec.tags = slices.DeleteFunc(sec.tags, func(t tag) bool { return t.Key == key })
	sec.tags = append(sec.tags, tag{Key: key, Value: value})
}

// SetAccessed sets the last-accessed date of one version (AWS keeps the
// day only, and so does this), as a read on that day would have left it.
func (s *Server) SetAccessed(region, name, versionID string, day time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secretByName(region, name)
	if sec == nil || sec.versions[versionID] == nil {
		return
	}
	d := day.UTC().Truncate(24 * time.Hour)
	sec.versions[versionID].accessed = d
	if d.After(sec.accessed) {
		sec.accessed = d
	}
}

// Accessed is the last-accessed date of one version (zero: never read).
func (s *Server) Accessed(region, name, versionID string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secretByName(region, name)
	if sec == nil || sec.versions[versionID] == nil {
		return time.Time{}
	}
	return sec.versions[versionID].accessed
}
