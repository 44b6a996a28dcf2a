package main

import (
	"fmt"
	"io"
	"os"
)

// readInputFile reads a file a user named, which must be a regular file of at most limit
// bytes: a device (/dev/zero never ends), a pipe or a directory named by mistake is refused
// before it is read, and a file too large for what it should be is not read whole.
func readInputFile(path string, limit int64, what string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: %s: not a regular file", what, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %s: %w", what, path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: %s: larger than %d bytes: not a %s file", what, path, limit, what)
	}
	return data, nil
}
