package limiter

import "strings"

// Patterns (a rule's Operation and Region) are globs: '*' matches any run of characters, '?'
// one character, and '|' separates alternatives ("CreateTags|DeleteTags"). Matching is ASCII
// case-insensitive. An operation may carry a variant after a colon
// ("DescribeInstances:unfiltered"); an alternative without a colon matches the operation's base
// name (so "DescribeInstances" and "Describe*" match the variant too), one with a colon matches
// the whole name.

// lowerASCII folds an ASCII upper-case letter to lower case.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// globMatch reports whether name matches the single-alternative glob pattern, ignoring ASCII
// case. It does not allocate and runs in O(len(pattern)·len(name)) at worst.
func globMatch(pattern, name string) bool {
	p, n := 0, 0
	starP, starN := -1, 0
	for n < len(name) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				starP, starN = p, n
				p++
				continue
			case '?':
				p++
				n++
				continue
			default:
				if lowerASCII(c) == lowerASCII(name[n]) {
					p++
					n++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Backtrack: let the last star swallow one more character.
		starN++
		p, n = starP+1, starN
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// baseOperation returns op without its variant (the part from the first colon on).
func baseOperation(op string) string {
	if i := strings.IndexByte(op, ':'); i >= 0 {
		return op[:i]
	}
	return op
}

// matchOperation reports whether op matches one of pattern's alternatives, and returns the name
// the match was made on: the base name for an alternative without a variant, else op itself.
// Per-operation buckets are keyed by that name, so "DescribeInstances" and
// "DescribeInstances:unfiltered" share a bucket under a rule that does not name the variant.
func matchOperation(pattern, op string) (matchedName string, ok bool) {
	for rest, more := pattern, true; more; {
		var alt string
		alt, rest, more = strings.Cut(rest, "|")
		name := op
		if strings.IndexByte(alt, ':') < 0 {
			name = baseOperation(op)
		}
		if globMatch(alt, name) {
			return name, true
		}
	}
	return "", false
}

// matchAny reports whether s matches one of pattern's '|'-separated alternatives. An empty
// pattern matches everything.
func matchAny(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	for rest, more := pattern, true; more; {
		var alt string
		alt, rest, more = strings.Cut(rest, "|")
		if globMatch(alt, s) {
			return true
		}
	}
	return false
}

// checkPattern returns a description of what is wrong with a pattern's syntax, or "".
func checkPattern(pattern string) string {
	if pattern == "" {
		return "must not be empty"
	}
	for rest, more := pattern, true; more; {
		var alt string
		alt, rest, more = strings.Cut(rest, "|")
		if alt == "" {
			return "has an empty alternative (check the '|' separators)"
		}
		for i := 0; i < len(alt); i++ {
			c := alt[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			case c == '*' || c == '?' || c == '-' || c == '_' || c == '.' || c == ':' || c == '/':
			default:
				return "contains " + quoteByte(c) + "; allowed are letters, digits, - _ . : / and the wildcards * ?"
			}
		}
	}
	return ""
}

func quoteByte(c byte) string {
	const hex = "0123456789abcdef"
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	return "byte 0x" + string([]byte{hex[c>>4], hex[c&15]})
}
