package trace

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Report says what an import did: how many records it wrote and, per reason, how much input
// it skipped or flagged, with the first place each reason occurred.
type Report struct {
	// Files is the number of input files read, by detected format.
	Files map[string]int
	// Written is the number of records written.
	Written int64
	// Issues has one entry per reason, sorted by reason.
	Issues []Issue
}

// Issue counts the input that was skipped (or, if Kept, written but flagged) for one reason.
type Issue struct {
	Reason string
	// Kept is true for reasons that flag records that were still written.
	Kept bool
	// Count is how many lines, records or files had this problem.
	Count int64
	// First is the first occurrence ("file:line"), and FirstError its full message.
	First      string
	FirstError string
}

// Skipped returns the number of lines, records and files skipped (issues not Kept).
func (r Report) Skipped() int64 {
	var n int64
	for _, is := range r.Issues {
		if !is.Kept {
			n += is.Count
		}
	}
	return n
}

// WriteText writes the report in a few human-readable lines.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	files := 0
	var formats []string
	for f, n := range r.Files {
		files += n
		formats = append(formats, fmt.Sprintf("%s %d", f, n))
	}
	slices.Sort(formats)
	plural := "s"
	if files == 1 {
		plural = ""
	}
	fmt.Fprintf(&b, "%d records written from %d file%s (%s); %d skipped\n", r.Written, files, plural, strings.Join(formats, ", "), r.Skipped())
	for _, is := range r.Issues {
		verb := "skipped"
		if is.Kept {
			verb = "kept"
		}
		fmt.Fprintf(&b, "  %-28s %7d %-7s first: %s\n", is.Reason, is.Count, verb, is.FirstError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// tally builds a Report's issues.
type tally struct {
	issues map[string]*Issue
}

func (t *tally) add(err *InputError, kept bool) {
	if t.issues == nil {
		t.issues = map[string]*Issue{}
	}
	is := t.issues[err.Reason]
	if is == nil {
		first := err.File
		if err.Line > 0 {
			first = fmt.Sprintf("%s:%d", err.File, err.Line)
		}
		is = &Issue{Reason: err.Reason, Kept: kept, First: first, FirstError: err.Error()}
		t.issues[err.Reason] = is
	}
	is.Count++
}

// addError counts err: an *InputError by its reason, anything else as an unreadable file.
func (t *tally) addError(name string, err error) {
	var ie *InputError
	if !errors.As(err, &ie) {
		ie = &InputError{File: name, Reason: ReasonUnreadableFile, Err: err}
		var re *ReadError
		if errors.As(err, &re) {
			ie.Line = re.Line + 1
			ie.Err = fmt.Errorf("%w; rest of the file skipped", re.Err)
		}
	}
	t.add(ie, false)
}

func (t *tally) list() []Issue {
	out := make([]Issue, 0, len(t.issues))
	for _, is := range t.issues {
		out = append(out, *is)
	}
	slices.SortFunc(out, func(a, b Issue) int { return strings.Compare(a.Reason, b.Reason) })
	return out
}
