package outfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Stage is a directory of outputs being written: files are written under Path(), a hidden
// staging directory inside the destination, and Commit moves them all into the destination
// (keeping their relative paths) once every one is complete. Abort removes the staging
// directory; after Commit it does nothing, so `defer s.Abort()` is safe.
type Stage struct {
	dir     string   // destination
	tmp     string   // staging directory, inside dir
	created []string // directories NewStage created, deepest first
	done    bool
}

// NewStage creates the destination directory dir (and its parents) if missing, and a staging
// directory inside it.
func NewStage(dir string) (*Stage, error) {
	var created []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("outfile: create output directory: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, tempPrefix+"stage-*")
	if err != nil {
		removeEmpty(created)
		return nil, fmt.Errorf("outfile: %w", err)
	}
	s := &Stage{dir: dir, tmp: tmp, created: created}
	track(s, func() {
		os.RemoveAll(tmp)
		removeEmpty(created)
	})
	return s, nil
}

// removeEmpty removes the directories, deepest first, as long as they are empty.
func removeEmpty(dirs []string) {
	for _, d := range dirs {
		if os.Remove(d) != nil {
			return
		}
	}
}

// Path returns the staging directory to write into.
func (s *Stage) Path() string { return s.tmp }

// Dir returns the destination directory.
func (s *Stage) Dir() string { return s.dir }

// Files returns the staged regular files, relative to the staging directory, sorted.
func (s *Stage) Files() ([]string, error) {
	var files []string
	err := filepath.WalkDir(s.tmp, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(s.tmp, path)
			if err != nil {
				return err
			}
			files = append(files, rel)
		} else if !d.IsDir() {
			return fmt.Errorf("%s: not a regular file", path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outfile: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// Commit checks every staged file's destination with g (nil: no check), then renames each
// into place under the destination directory, creating subdirectories as needed, and removes
// the staging directory. If g refuses any destination nothing is moved and the *InputError is
// returned. It returns the committed files, relative to the destination.
func (s *Stage) Commit(g *Guard) ([]string, error) {
	if s.done {
		return nil, fmt.Errorf("outfile: %s: already committed or aborted", s.dir)
	}
	files, err := s.Files()
	if err != nil {
		s.Abort()
		return nil, err
	}
	for _, f := range files {
		if err := g.Check(filepath.Join(s.dir, f)); err != nil {
			s.Abort()
			return nil, err
		}
		if st, err := os.Stat(filepath.Join(s.dir, f)); err == nil && st.IsDir() {
			s.Abort()
			return nil, fmt.Errorf("outfile: %s is a directory", filepath.Join(s.dir, f))
		}
	}
	s.done = true
	defer untrack(s)
	defer os.RemoveAll(s.tmp)
	for _, f := range files {
		src, dst := filepath.Join(s.tmp, f), filepath.Join(s.dir, f)
		if err := syncFile(src); err != nil {
			return nil, fmt.Errorf("outfile: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, fmt.Errorf("outfile: %w", err)
		}
		if err := os.Rename(src, dst); err != nil {
			return nil, fmt.Errorf("outfile: %w", err)
		}
	}
	return files, nil
}

// Abort removes the staging directory and everything in it, and the directories NewStage
// created if they are empty; the destination keeps what it had. It does nothing after Commit
// or a previous Abort.
func (s *Stage) Abort() {
	if s.done {
		return
	}
	s.done = true
	os.RemoveAll(s.tmp)
	removeEmpty(s.created)
	untrack(s)
}

// syncFile flushes a staged file to disk before it is renamed into place, and makes it
// readable by others as os.Create would.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Chmod(0o644)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
