package outfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// tempPrefix starts the name of every temporary file and staging directory.
const tempPrefix = ".tollgate-"

// File is an output file being written. Write to it, then Commit to rename it into place, or
// Abort to discard it. Abort after Commit does nothing, so `defer f.Abort()` is safe.
type File struct {
	*os.File // the temporary file
	path     string
	done     bool
}

// Create starts writing the file at path: it creates a temporary file in path's directory
// (which must exist). The file at path, if any, is untouched until Commit.
func Create(path string) (*File, error) {
	if path == "" {
		return nil, errors.New("outfile: empty path")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("outfile: %s is a directory", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return nil, fmt.Errorf("outfile: %w", err)
	}
	f := &File{File: tmp, path: path}
	track(f, removeFile(tmp.Name()))
	return f, nil
}

// Path returns the path the file is committed to.
func (f *File) Path() string { return f.path }

// Commit flushes the temporary file to disk, closes it, and renames it to the file's path,
// replacing whatever was there. On error the temporary file is removed.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("outfile: %s: already committed or aborted", f.path)
	}
	f.done = true
	defer untrack(f)
	name := f.File.Name()
	err := f.File.Chmod(0o644)
	if err == nil {
		err = f.File.Sync()
	}
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, f.path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("outfile: write %s: %w", f.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file, leaving the file at the path as it was. It does
// nothing after Commit or a previous Abort.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.File.Name())
	untrack(f)
}

// WriteFile writes data to path through a temporary file and a rename.
func WriteFile(path string, data []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return fmt.Errorf("outfile: write %s: %w", path, err)
	}
	return f.Commit()
}
