package trace

import (
	"encoding/binary"
	"time"
)

// parseRFC3339 parses an RFC 3339 timestamp ("2025-03-14T09:26:53.123Z",
// "2025-03-14T10:26:53+01:00") without allocating and returns it in UTC. It accepts 't' and
// 'z' in lower case and any number of fractional digits (keeping nanoseconds), and rejects
// anything else, including a second of 60.
func parseRFC3339(b []byte) (time.Time, bool) {
	minute, ok := rfc3339Minute(b)
	if !ok {
		return time.Time{}, false
	}
	return rfc3339Rest(b, minute)
}

// rfc3339Minute parses the "2006-01-02T15:04" part of an RFC 3339 timestamp.
func rfc3339Minute(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, 0, 0, time.UTC), true
}

// rfc3339Rest parses the ":05.999999999Z07:00" part of an RFC 3339 timestamp (len(b) >= 20)
// and adds it to minute, the parsed beginning.
func rfc3339Rest(b []byte, minute time.Time) (time.Time, bool) {
	sec, ok := digits(b[17:19])
	if b[16] != ':' || !ok || sec > 59 {
		return time.Time{}, false
	}
	p := 19
	nsec := 0
	if b[p] == '.' {
		p++
		start := p
		scale := 100000000
		for p < len(b) && b[p] >= '0' && b[p] <= '9' {
			nsec += int(b[p]-'0') * scale
			scale /= 10
			p++
		}
		if p == start || p >= len(b) {
			return time.Time{}, false
		}
	}
	offset := 0
	switch b[p] {
	case 'Z', 'z':
		p++
	case '+', '-':
		if len(b)-p != 6 || b[p+3] != ':' {
			return time.Time{}, false
		}
		oh, okh := digits(b[p+1 : p+3])
		om, okm := digits(b[p+4 : p+6])
		if !okh || !okm || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if b[p] == '-' {
			offset = -offset
		}
		p += 6
	default:
		return time.Time{}, false
	}
	if p != len(b) {
		return time.Time{}, false
	}
	return minute.Add(time.Duration(sec-offset)*time.Second + time.Duration(nsec)), true
}

// timeParser parses RFC 3339 timestamps, remembering the last minute it saw: consecutive
// records of a trace mostly share it, and then only the seconds need parsing.
type timeParser struct {
	prefix [16]byte
	minute time.Time
	// The second of the last time parsed in UTC ("...:05Z" or "...:05.123Z") within minute:
	// its two digits and its Unix time. Then a time in the same second only needs its
	// fraction parsed.
	sec     [2]byte
	secUnix int64
	secOK   bool
}

func (tp *timeParser) parse(b []byte) (time.Time, bool) {
	if len(b) >= 20 && !tp.minute.IsZero() && [16]byte(b[:16]) == tp.prefix {
		if tp.secOK && b[16] == ':' && b[17] == tp.sec[0] && b[18] == tp.sec[1] {
			if nsec, ok := zuluFraction(b[19:]); ok {
				// minute.Add(sec + nsec), built without Add: the same value.
				return time.Unix(tp.secUnix, nsec).UTC(), true
			}
		}
		t, ok := rfc3339Rest(b, tp.minute)
		if ok {
			tp.setSecond(b, t)
		}
		return t, ok
	}
	minute, ok := rfc3339Minute(b)
	if !ok {
		return time.Time{}, false
	}
	t, ok := rfc3339Rest(b, minute)
	if ok {
		tp.prefix, tp.minute = [16]byte(b[:16]), minute
		tp.secOK = false
		tp.setSecond(b, t)
	}
	return t, ok
}

// setSecond remembers the second of t, just parsed from b, if b is in UTC.
func (tp *timeParser) setSecond(b []byte, t time.Time) {
	if z := b[len(b)-1]; z == 'Z' || z == 'z' {
		tp.sec, tp.secUnix, tp.secOK = [2]byte{b[17], b[18]}, t.Unix(), true
	} else {
		tp.secOK = false
	}
}

// zuluFraction parses what follows the seconds of an RFC 3339 time in UTC: "Z", or '.', one
// or more digits and "Z" ('z' too), and returns the nanoseconds (digits past the ninth are
// dropped, as rfc3339Rest drops them); false for anything else.
func zuluFraction(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if z := b[len(b)-1]; z != 'Z' && z != 'z' {
		return 0, false
	}
	if len(b) == 1 {
		return 0, true
	}
	digits := b[1 : len(b)-1]
	if b[0] != '.' || len(digits) == 0 {
		return 0, false
	}
	if len(digits) == 9 {
		// Nanoseconds in full, as the Writer writes most times: eight digits at once.
		if x, ok := eightDigits(binary.LittleEndian.Uint64(digits)); ok && digits[8] >= '0' && digits[8] <= '9' {
			return int64(x)*10 + int64(digits[8]-'0'), true
		}
		return 0, false
	}
	var nsec int64
	for i, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		if i < 9 {
			nsec = nsec*10 + int64(c-'0')
		}
	}
	for n := len(digits); n < 9; n++ {
		nsec *= 10
	}
	return nsec, true
}

// digits parses a short run of ASCII digits.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// appendRFC3339 appends t in UTC as "2006-01-02T15:04:05.999999999Z" (fraction trimmed of
// trailing zeros, omitted when zero). t's year must be within 0..9999.
func appendRFC3339(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b = append4(b, year)
	b = append(b, '-')
	b = append2(b, int(month))
	b = append(b, '-')
	b = append2(b, day)
	b = append(b, 'T')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, minute)
	b = append(b, ':')
	b = append2(b, sec)
	if ns := t.Nanosecond(); ns != 0 {
		b = appendFraction(b, ns)
	}
	return append(b, 'Z')
}

// appendFraction appends ".999999999" for ns > 0, trailing zeros trimmed.
func appendFraction(b []byte, ns int) []byte {
	b = append(b, '.')
	var frac [9]byte
	for i := 8; i >= 0; i-- {
		frac[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 9
	for n > 1 && frac[n-1] == '0' {
		n--
	}
	return append(b, frac[:n]...)
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// timeFormatter formats times like appendRFC3339, remembering the last second it wrote:
// consecutive records of a trace mostly share it.
type timeFormatter struct {
	sec    int64
	prefix []byte // "2006-01-02T15:04:05" of sec
}

func (tf *timeFormatter) append(b []byte, t time.Time) []byte {
	if sec := t.Unix(); len(tf.prefix) == 0 || sec != tf.sec {
		tf.prefix = appendRFC3339(tf.prefix[:0], t.Truncate(time.Second))
		tf.prefix = tf.prefix[:len(tf.prefix)-1] // drop the 'Z'
		tf.sec = sec
	}
	b = append(b, tf.prefix...)
	if ns := t.Nanosecond(); ns != 0 {
		b = appendFraction(b, ns)
	}
	return append(b, 'Z')
}

// eightDigits returns the number the eight ASCII digits of x (little-endian: the first digit
// in the low byte) stand for, and false if any byte of x is not a digit.
func eightDigits(x uint64) (uint64, bool) {
	const zeros, high = 0x3030303030303030, 0x8080808080808080
	if (x|(x+0x4646464646464646)|(x-zeros))&high != 0 || (x&0xF0F0F0F0F0F0F0F0) != zeros {
		return 0, false
	}
	x -= zeros
	x = (x*10 + x>>8) & 0x00FF00FF00FF00FF
	x = (x*100 + x>>16) & 0x0000FFFF0000FFFF
	x = (x*10000 + x>>32) & 0xFFFFFFFF
	return x, true
}
