package trace

import "time"

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
}

func (tp *timeParser) parse(b []byte) (time.Time, bool) {
	if len(b) >= 20 && !tp.minute.IsZero() && [16]byte(b[:16]) == tp.prefix {
		return rfc3339Rest(b, tp.minute)
	}
	minute, ok := rfc3339Minute(b)
	if !ok {
		return time.Time{}, false
	}
	t, ok := rfc3339Rest(b, minute)
	if ok {
		tp.prefix, tp.minute = [16]byte(b[:16]), minute
	}
	return t, ok
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
