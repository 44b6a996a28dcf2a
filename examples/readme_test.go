// Package examples holds the programs a user copies from (one per directory) and, here, the
// test that runs the README's shell examples.
package examples

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlock is a fenced code block of the README and the marker before it.
type readmeBlock struct {
	line    int    // line of the opening fence
	lang    string // the fence's info string: sh, go, yaml, ...
	marker  string // "runnable", "not run", "file", or "" (no marker)
	session string // runnable blocks with the same session run as one script
	reason  string // why a block is not run
	file    string // the repository file a "file" block shows
	command string // the command whose output an "output" block shows
	code    string
}

var markerRE = regexp.MustCompile(`^\s*<!--\s*(runnable(?:\s+session=(\S+))?|not run:\s*(.+?)|file:\s*(\S+)|output of:\s*(.+?))\s*-->\s*$`)

// parseReadme returns the fenced code blocks of a Markdown file with the marker comment on the
// line right before each opening fence:
//
//	<!-- runnable -->                  run the block with bash -e; it must exit 0
//	<!-- runnable session=NAME -->     blocks of one session run together, in order, as one script
//	<!-- not run: REASON -->           the block is not run, for the reason given
//	<!-- file: PATH -->                 the block shows the repository file PATH (less its
//	                                    leading comment lines) and must equal it
//	<!-- output of: COMMAND -->        the block shows lines COMMAND prints (abridged: a subset,
//	                                    in order)
func parseReadme(path string) ([]readmeBlock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		fence  string
		prev   string
		n      int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			fence = line[:strings.Index(line, "```")]
			b := readmeBlock{line: n, lang: strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))}
			if m := markerRE.FindStringSubmatch(prev); m != nil {
				switch {
				case strings.HasPrefix(m[1], "runnable"):
					b.marker, b.session = "runnable", m[2]
				case strings.HasPrefix(m[1], "file:"):
					b.marker, b.file = "file", m[4]
				case strings.HasPrefix(m[1], "output of:"):
					b.marker, b.command = "output", m[5]
				default:
					b.marker, b.reason = "not run", m[3]
				}
			}
			cur = &b
		case cur != nil && trimmed == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.code += strings.TrimPrefix(line, fence) + "\n"
		}
		prev = line
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: code block never closed", path, cur.line)
	}
	return blocks, sc.Err()
}

func isShell(lang string) bool {
	switch strings.Fields(lang + " x")[0] {
	case "sh", "bash", "shell", "console":
		return true
	}
	return false
}

// TestReadmeBlocksAreMarked fails on a shell block of the README that says neither that it is
// run (and so checked by TestReadmeRunnableBlocks) nor why it is not.
func TestReadmeBlocksAreMarked(t *testing.T) {
	blocks, err := parseReadme("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	runnable := 0
	for _, b := range blocks {
		if b.marker == "runnable" {
			runnable++
			if !isShell(b.lang) {
				t.Errorf("README.md:%d: a runnable block must be sh, not %q", b.line, b.lang)
			}
		}
		if isShell(b.lang) && b.marker == "" {
			t.Errorf("README.md:%d: shell block without <!-- runnable --> or <!-- not run: REASON --> on the line before it", b.line)
		}
	}
	if runnable < 5 {
		t.Errorf("only %d runnable blocks in the README", runnable)
	}
}

// TestReadmeFileBlocksMatchTheFiles checks that a block marked <!-- file: PATH --> shows PATH as
// it is (after its leading comment lines), so that the README's example files are the ones
// shipped, and run, from the repository.
func TestReadmeFileBlocksMatchTheFiles(t *testing.T) {
	blocks, err := parseReadme("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, b := range blocks {
		if b.marker != "file" {
			continue
		}
		files++
		data, err := os.ReadFile(filepath.Join("..", b.file))
		if err != nil {
			t.Errorf("README.md:%d: %v", b.line, err)
			continue
		}
		lines := strings.SplitAfter(string(data), "\n")
		for len(lines) > 0 && (strings.HasPrefix(lines[0], "#") || strings.TrimSpace(lines[0]) == "") {
			lines = lines[1:]
		}
		if want := strings.Join(lines, ""); b.code != want {
			t.Errorf("README.md:%d: the block differs from %s (after its leading comments):\n--- README\n%s--- %s\n%s", b.line, b.file, b.code, b.file, want)
		}
	}
	if files == 0 {
		t.Error("no <!-- file: PATH --> block in the README")
	}
}

// TestReadmeRunnableBlocks runs every README block marked runnable, as printed, with bash -e
// (a command that fails stops the block; a pipeline's status is its last command's, as in the
// shell a reader pastes into), and fails on a non-zero exit. The blocks run from a scratch directory
// that mirrors the repository (a symbolic link to each top-level entry), so that `go run
// ./cmd/tollgate` works and the files the blocks write stay out of the checkout. The README
// names fixed ports (4599, 9464), so runs of this test are serialized across processes with a
// lock file. Every process a block starts, background jobs included, is killed when it ends.
func TestReadmeRunnableBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's examples: go run, the simulator, the emulator (about two minutes)")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash not on PATH")
	}
	blocks, err := parseReadme("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	unlock := lockFile(t, filepath.Join(os.TempDir(), "tollgate-readme.lock"))
	defer unlock()
	scratch := mirror(t, repo)

	// Group the blocks into scripts: a session's blocks together, at its first block's place.
	type script struct {
		name string
		code string
	}
	var scripts []*script
	sessions := map[string]*script{}
	for _, b := range blocks {
		if b.marker != "runnable" {
			continue
		}
		if s := sessions[b.session]; b.session != "" && s != nil {
			s.code += fmt.Sprintf("# README.md:%d\n%s", b.line, b.code)
			continue
		}
		s := &script{name: fmt.Sprintf("README.md:%d", b.line), code: fmt.Sprintf("# README.md:%d\n%s", b.line, b.code)}
		if b.session != "" {
			s.name += "/" + b.session
			sessions[b.session] = s
		}
		scripts = append(scripts, s)
	}
	for _, s := range scripts {
		t.Run(s.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			// Background jobs the block leaves running are stopped when it exits.
			code := "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + s.code
			cmd := exec.CommandContext(ctx, bash, "-e", "-c", code)
			cmd.Dir = scratch
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			cmd.WaitDelay = 5 * time.Second // a process that escaped the trap must not hold the output open
			start := time.Now()
			out, err := cmd.CombinedOutput()
			// Whatever the block left running (a background emulator) goes with it.
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			if err != nil {
				t.Fatalf("%v after %v\n--- script\n%s--- output (last 4 KB)\n%s", err, time.Since(start).Round(time.Millisecond), s.code, tail(out, 4096))
			}
			t.Logf("ok in %v", time.Since(start).Round(time.Millisecond))
		})
	}
}

// mirror makes a scratch directory with a symbolic link to each top-level entry of repo but
// .git. Its path is the same for every run from the same checkout, so that the build cache,
// which keys compiled packages by directory, serves later runs.
func mirror(t *testing.T, repo string) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("tollgate-readme-%x", sha256.Sum256([]byte(repo)))[:len("tollgate-readme-")+12])
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == ".git" {
			continue
		}
		if err := os.Symlink(filepath.Join(repo, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// lockFile takes an exclusive lock on path, waiting for other holders, and returns the unlock.
func lockFile(t *testing.T, path string) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// The parser finds blocks, markers and sessions.
func TestParseReadme(t *testing.T) {
	md := filepath.Join(t.TempDir(), "r.md")
	os.WriteFile(md, []byte("text\n<!-- runnable -->\n```sh\necho one\n```\n\n<!-- runnable session=emu -->\n```sh\na &\n```\nprose\n"+
		"<!-- not run: needs Grafana -->\n```sh\ngrafana\n```\n```go\nx := 1\n```\n- item:\n\n  <!-- runnable session=emu -->\n  ```sh\n  kill %1\n  ```\n"), 0o644)
	blocks, err := parseReadme(md)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, b := range blocks {
		got += fmt.Sprintf("%d %s %q %q %q %q|", b.line, b.lang, b.marker, b.session, b.reason, b.code)
	}
	want := `3 sh "runnable" "" "" "echo one\n"|8 sh "runnable" "emu" "" "a &\n"|13 sh "not run" "" "needs Grafana" "grafana\n"|16 go "" "" "" "x := 1\n"|22 sh "runnable" "emu" "" "kill %1\n"|`
	if got != want {
		t.Errorf("parsed\n%s\nwant\n%s", got, want)
	}
}

// TestReadmeOutputBlocksMatchTheCommands runs the command named by each block marked
// <!-- output of: COMMAND --> (with bash, from the repository's root) and checks that every
// non-blank line of the block is a line of what it prints, in the same order: a README may
// abridge a command's output, never let it go stale.
func TestReadmeOutputBlocksMatchTheCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the commands whose output the README shows")
	}
	blocks, err := parseReadme("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	outputs := 0
	for _, b := range blocks {
		if b.marker != "output" {
			continue
		}
		outputs++
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-e", "-c", b.command)
		cmd.Dir = ".."
		out, err := cmd.Output()
		cancel()
		if err != nil {
			t.Errorf("README.md:%d: %s: %v", b.line, b.command, err)
			continue
		}
		got := strings.Split(string(out), "\n")
		for i := range got {
			got[i] = strings.TrimRight(got[i], " ")
		}
		next := 0
		for j, want := range strings.Split(b.code, "\n") {
			want = strings.TrimRight(want, " ")
			if want == "" {
				continue
			}
			k := next
			for k < len(got) && got[k] != want {
				k++
			}
			if k == len(got) {
				t.Errorf("README.md:%d: %q is not printed by %s (after the lines before it)\n--- printed\n%s", b.line+1+j, want, b.command, out)
				break
			}
			next = k + 1
		}
	}
	if outputs == 0 {
		t.Error("no <!-- output of: COMMAND --> block in the README")
	}
}
