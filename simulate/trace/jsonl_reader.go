package trace

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes is the longest line the line-oriented readers accept. A longer line is
// skipped with an InputError.
const MaxLineBytes = 1 << 20

// maxSkipBytes bounds how much of one overlong line a reader skips looking for its end; past
// it the rest of the file is skipped.
const maxSkipBytes = 64 * MaxLineBytes

// Reader reads a trace in the native JSON Lines format (see the package documentation).
//
// Read does not allocate in the steady state: strings that recur (services, operations,
// buckets, error codes, hot keys) are shared between records through a bounded table; only a
// string not seen recently, such as a new S3 key, costs an allocation. A trace of any length
// is read in constant memory.
type Reader struct {
	lines   lineReader
	dec     fieldDecoder
	key     []byte // scratch for field names with escapes
	scratch []byte // scratch for string values with escapes
	stack   []byte // scratch for skipping nested unknown values

	fieldErr *InputError // the error of the last bad field value
	noFast   bool        // tests: decode every line with the general parser
}

// NewReader returns a Reader that reads from r. name identifies r in errors ("trace.jsonl").
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{lines: newLineReader(r, name, 64<<10)}
}

// Reset makes r read from src as if newly made by NewReader, keeping its buffers and its
// table of shared strings.
func (r *Reader) Reset(src io.Reader, name string) {
	r.lines.reset(src, name)
}

// Read reads the next record into rec. It returns io.EOF after the last record. For a line
// it cannot use it returns an *InputError naming the file, line and field, and the next Read
// continues with the following line; any other error is fatal and is returned again by every
// later Read. Blank lines are skipped. After an error, rec holds no meaningful record.
func (r *Reader) Read(rec *Record) error {
	for {
		line, err := r.lines.next()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			continue
		}
		return r.parse(line, rec)
	}
}

// Line returns the number of the line last read (1-based).
func (r *Reader) Line() int64 { return r.lines.line }

// Position returns the input's name and the line of the record last read.
func (r *Reader) Position() (string, int64) { return r.lines.name, r.lines.line }

// parse decodes one JSON object into rec.
func (r *Reader) parse(b []byte, rec *Record) error {
	*rec = Record{}
	if !r.noFast && r.parseFast(b, rec) {
		return nil
	}
	*rec = Record{}
	d := &r.dec
	d.seen = 0
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return r.syntax(b, i, "want a JSON object")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return r.syntax(b, i, "want a field name")
			}
			f, j := matchField(b, i)
			if j < 0 {
				name, k, jerr := decodeString(b, i, &r.key)
				if jerr != nil {
					return r.syntax(b, jerr.pos, jerr.msg)
				}
				f, j = lookupField(name), k
			}
			i = skipWS(b, j)
			if i >= len(b) || b[i] != ':' {
				return r.syntax(b, i, "want ':' after a field name")
			}
			i = skipWS(b, i+1)
			if i >= len(b) {
				return r.syntax(b, i, "want a value")
			}
			var jerr *jsonError
			if b[i] == '"' && f.isString() { // the common case, without the call to value
				var v []byte
				if v, i, jerr = decodeString(b, i, &r.scratch); jerr != nil {
					return r.syntax(b, jerr.pos, jerr.msg)
				}
				if reason, err := d.setString(rec, f, v); err != nil {
					return &InputError{File: r.lines.name, Line: r.lines.line, Field: f.String(), Reason: reason, Err: err}
				}
				goto next
			}
			if i, jerr = r.value(b, i, f, rec); jerr != nil {
				if jerr.msg == "" {
					return r.fieldErr // set by value
				}
				return r.syntax(b, jerr.pos, jerr.msg)
			}
		next:
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipWS(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return r.syntax(b, i, "want ',' or '}'")
		}
	}
	if i = skipWS(b, i); i != len(b) {
		return r.syntax(b, i, "data after the object")
	}
	if f := d.missing(); f != fUnknown {
		return r.lines.errorf(f.String(), ReasonMissingField, "required, missing")
	}
	return nil
}

// matchField recognises a field name at b[i] == '"' written without escapes, as the Writer
// writes it, and returns its field and the index after the closing quote; j < 0 if the name
// needs the general path.
func matchField(b []byte, i int) (field, int) {
	if i+17 > len(b) {
		return fUnknown, -1
	}
	f, n := matchFieldWords(binary.LittleEndian.Uint64(b[i+1:]), binary.LittleEndian.Uint64(b[i+9:]))
	if n < 0 {
		return fUnknown, -1
	}
	return f, i + 1 + n
}

// matchFieldWords recognises `name"` for a field name in the 16 bytes after a name's opening
// quote, given as two little-endian words; it returns the field and the length of `name"`,
// or n < 0.
func matchFieldWords(w0, w1 uint64) (f field, n int) {
	f = fieldByInitial[byte(w0)]
	switch f {
	case fUnknown:
		return fUnknown, -1
	case fService:
		if byte(w0>>8) == 't' {
			f = fStatus
		}
	case fOperation:
		if byte(w0>>8) == 'u' {
			f = fOutcome
		}
	case fRegion:
		if byte(w0>>16) == 's' {
			f = fResource
		}
	}
	// Compare `name"` as two little-endian words.
	m := &fieldMatch[f]
	if w0&m.mask0 == m.w0 && w1&m.mask1 == m.w1 {
		return f, m.n
	}
	return fUnknown, -1
}

// fieldByInitial maps the first letter of a field name to a candidate field (fUnknown if none).
var fieldByInitial = func() (t [256]field) {
	for i := range t {
		t[i] = fUnknown
	}
	for _, f := range [...]field{fTime, fService, fOperation, fRegion, fKey, fErrorCode, fLatency, fUnits, fClient} {
		t[fieldNames[f][0]] = f
	}
	return t
}()

// fieldMatch holds each field name followed by '"' as two little-endian words with the masks
// of their bytes in use (names are at most 15 bytes).
var fieldMatch = func() (t [nFields]struct {
	w0, w1, mask0, mask1 uint64
	n                    int
}) {
	for f, name := range fieldNames {
		var buf [16]byte
		n := copy(buf[:], name+`"`)
		t[f].n = n
		t[f].w0 = binary.LittleEndian.Uint64(buf[:8])
		t[f].w1 = binary.LittleEndian.Uint64(buf[8:])
		for k := range n {
			if k < 8 {
				t[f].mask0 |= 0xff << (8 * k)
			} else {
				t[f].mask1 |= 0xff << (8 * (k - 8))
			}
		}
	}
	return t
}()

// value decodes the value of field f at b[i] into rec. A bad value of a known field leaves
// the InputError in r.fieldErr and returns a jsonError with an empty message.
func (r *Reader) value(b []byte, i int, f field, rec *Record) (int, *jsonError) {
	if f == fUnknown {
		return skipValue(b, i, 1, &r.stack)
	}
	var reason string
	var err error
	switch c := b[i]; {
	case c == '"':
		s, j, jerr := decodeString(b, i, &r.scratch)
		if jerr != nil {
			return j, jerr
		}
		if f.numeric() {
			return j, r.badValue(f, ReasonBadField, errors.New("want a number, got a string"))
		}
		if reason, err = r.dec.setString(rec, f, s); err != nil {
			return j, r.badValue(f, reason, err)
		}
		return j, nil
	case c == 'n':
		j, jerr := scanLiteral(b, i, "null")
		if jerr == nil {
			r.dec.clear(rec, f)
		}
		return j, jerr
	case c == '-' || (c >= '0' && c <= '9'):
		j, jerr := scanNumber(b, i)
		if jerr != nil {
			return j, jerr
		}
		if reason, err = r.dec.setNumber(rec, f, b[i:j]); err != nil {
			return j, r.badValue(f, reason, err)
		}
		return j, nil
	case c == '{' || c == '[' || c == 't' || c == 'f':
		j, jerr := skipValue(b, i, 1, &r.stack)
		if jerr != nil {
			return j, jerr
		}
		want := "a string"
		if f.numeric() {
			want = "a number"
		}
		return j, r.badValue(f, ReasonBadField, fmt.Errorf("want %s or null (the native format is a flat object)", want))
	}
	return i, &jsonError{i, "want a value"}
}

func (r *Reader) badValue(f field, reason string, err error) *jsonError {
	r.fieldErr = &InputError{File: r.lines.name, Line: r.lines.line, Field: f.String(), Reason: reason, Err: err}
	return &jsonError{}
}

func (r *Reader) syntax(b []byte, pos int, msg string) error {
	if pos < len(b) {
		return r.lines.errorf("", ReasonMalformedLine, "column %d: %s, found %q", pos+1, msg, b[pos])
	}
	return r.lines.errorf("", ReasonMalformedLine, "column %d: %s, found end of line", pos+1, msg)
}

// lineReader splits its input into lines, counting them. Lines are returned without the line
// terminator (\n or \r\n) and surrounding spaces; the slice is valid until the next call.
type lineReader struct {
	br   *bufio.Reader
	name string
	line int64
	long []byte
	err  error // sticky: io.EOF or a fatal read error
}

func newLineReader(r io.Reader, name string, size int) lineReader {
	return lineReader{br: bufio.NewReaderSize(r, size), name: name}
}

// next returns the next line. A line longer than MaxLineBytes yields an *InputError.
func (l *lineReader) next() ([]byte, error) {
	if l.err != nil {
		return nil, l.err
	}
	b, err := l.br.ReadSlice('\n')
	switch {
	case err == nil:
	case err == io.EOF && len(b) > 0:
	case err == bufio.ErrBufferFull:
		return l.nextLong(b)
	default:
		return nil, l.fail(err)
	}
	l.line++
	return trimLine(b), nil
}

func (l *lineReader) nextLong(b []byte) ([]byte, error) {
	l.line++
	l.long = append(l.long[:0], b...)
	tooLong := false
	read := int64(len(b))
	for {
		b, err := l.br.ReadSlice('\n')
		read += int64(len(b))
		if !tooLong && len(l.long)+len(b) > MaxLineBytes {
			tooLong = true
		}
		if !tooLong {
			l.long = append(l.long, b...)
		}
		if err == bufio.ErrBufferFull {
			if read > maxSkipBytes {
				// Not a line-oriented file (a device such as /dev/zero, a binary file): give
				// it up rather than read it to its end, which may never come.
				l.long, l.err = l.long[:0], io.EOF
				return nil, l.errorf("", ReasonMalformedLine, "line longer than %d bytes and still going: rest of the file skipped", maxSkipBytes)
			}
			continue
		}
		if err != nil && err != io.EOF {
			return nil, l.fail(err)
		}
		break
	}
	if tooLong {
		l.long = l.long[:0]
		return nil, l.errorf("", ReasonMalformedLine, "line longer than %d bytes", MaxLineBytes)
	}
	return trimLine(l.long), nil
}

func (l *lineReader) reset(r io.Reader, name string) {
	l.br.Reset(r)
	l.name, l.line, l.err = name, 0, nil
}

func (l *lineReader) fail(err error) error {
	if err == io.EOF {
		l.err = io.EOF
	} else {
		l.err = &ReadError{File: l.name, Line: l.line, Err: err}
	}
	return l.err
}

func (l *lineReader) errorf(field, reason, format string, args ...any) *InputError {
	return &InputError{File: l.name, Line: l.line, Field: field, Reason: reason, Err: errorf(format, args...)}
}

func trimLine(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
