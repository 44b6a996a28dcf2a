package outfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Guard holds a command's inputs and refuses outputs that would overwrite one of them. The
// zero value and nil hold no inputs and refuse nothing.
type Guard struct {
	inputs []input
}

type input struct {
	name string      // as the user gave it
	info os.FileInfo // for os.SameFile
	dir  string      // for a directory input: its absolute, symlink-resolved path
}

// InputError is an output that would overwrite an input: a usage error.
type InputError struct {
	Output, Input string
	// Inside is true when the output lies inside the input directory rather than being the
	// input itself.
	Inside bool
}

func (e *InputError) Error() string {
	if e.Inside {
		return fmt.Sprintf("refusing to write %s inside input directory %s (the output would become an input); choose another output", e.Output, e.Input)
	}
	if e.Output == e.Input {
		return fmt.Sprintf("refusing to write over input %s; choose another output", e.Input)
	}
	return fmt.Sprintf("refusing to write %s: it is input %s; choose another output", e.Output, e.Input)
}

// NewGuard returns a guard over the named inputs. Names that do not exist (or "-", standard
// input) are ignored, as are empty names; for "-" the file behind standard input, if any, is
// guarded instead.
func NewGuard(inputs ...string) *Guard {
	g := &Guard{}
	for _, name := range inputs {
		g.Add(name)
	}
	return g
}

// Add adds an input.
func (g *Guard) Add(name string) {
	var (
		info os.FileInfo
		err  error
	)
	switch name {
	case "":
		return
	case "-":
		info, err = os.Stdin.Stat()
		if err != nil || !info.Mode().IsRegular() {
			return
		}
		name = "standard input"
	default:
		info, err = os.Stat(name)
		if err != nil {
			return
		}
	}
	in := input{name: name, info: info}
	if info.IsDir() {
		if abs, err := resolve(name); err == nil {
			in.dir = abs
		}
	}
	g.inputs = append(g.inputs, in)
}

// Check returns an *InputError if writing path would overwrite an input or put the file inside
// an input directory, and nil otherwise (including when path does not exist yet and lies
// outside every input directory, and for the empty path, which names no output).
func (g *Guard) Check(path string) error {
	if g == nil || len(g.inputs) == 0 || path == "" {
		return nil
	}
	if st, err := os.Stat(path); err == nil {
		for _, in := range g.inputs {
			if os.SameFile(st, in.info) {
				return &InputError{Output: path, Input: in.name}
			}
		}
	}
	abs, err := resolve(path)
	if err != nil {
		return nil
	}
	for _, in := range g.inputs {
		if in.dir != "" && within(abs, in.dir) {
			return &InputError{Output: path, Input: in.name, Inside: true}
		}
	}
	return nil
}

// resolve returns path made absolute with symbolic links resolved as far as the path exists
// (an output's file usually does not exist yet; its directory may not either).
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rest := ""
	for dir := abs; ; {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(dir), rest)
		dir = parent
	}
}

// within reports whether path is dir or lies below it.
func within(path, dir string) bool {
	if path == dir {
		return true
	}
	return strings.HasPrefix(path, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}
