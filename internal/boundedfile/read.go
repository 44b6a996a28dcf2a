// Package boundedfile reads the files a user names — scenarios, rules, faults, traces given
// whole — without trusting them: only a regular file is read, and never more than a limit.
package boundedfile

import (
	"fmt"
	"io"
	"os"
)

// Read returns the contents of path, which must be a regular file of at most limit bytes.
// Anything else is refused before it is read whole: a device (/dev/zero never ends), a named
// pipe (opening one blocks until a writer comes, so the mode is checked before opening) or a
// directory named by mistake gives "PATH: not a regular file", a larger file "PATH: larger than
// LIMIT bytes: not a KIND file" (kind says what the file should be: "scenario", "rules").
// Errors from the file system are returned as they are (they name the path).
func Read(path string, limit int64, kind string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a %s file", path, limit, kind)
	}
	return data, nil
}
