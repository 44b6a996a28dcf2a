package main

import (
	"fmt"

	"github.com/tollgate/tollgate/internal/boundedfile"
)

// readInputFile reads a file a user named, which must be a regular file of at most limit
// bytes: a device (/dev/zero never ends), a pipe or a directory named by mistake is refused
// before it is read, and a file too large for what it should be is not read whole.
func readInputFile(path string, limit int64, what string) ([]byte, error) {
	data, err := boundedfile.Read(path, limit, what)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return data, nil
}
