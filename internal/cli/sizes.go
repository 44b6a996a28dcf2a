package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// CountVar defines an int64 flag for large counts, written as an integer or in exponent
// notation ("1e9", "2.5e10"), whose value must lie in r; --help shows the range.
func CountVar(fs *pflag.FlagSet, p *int64, name string, def int64, r Range[int64], usage string) {
	addBounded(fs, &bounded[int64]{p: p, r: r, typ: "count", format: formatCount, parse: parseCount}, name, def, usage)
}

// formatCount writes a count in exponent notation when that is exact and shorter ("1e+09"),
// so that --help and errors stay readable.
func formatCount(v int64) string {
	d := strconv.FormatInt(v, 10)
	if s := strconv.FormatFloat(float64(v), 'g', -1, 64); strings.Contains(s, "e") && len(s) < len(d) {
		if back, err := parseCount(s); err == nil && back == v {
			return s
		}
	}
	return d
}

func parseCount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return 0, fmt.Errorf("want a whole number such as 5000000000 or 5e9")
	}
	return int64(f), nil
}

// byteUnits are the suffixes BytesVar accepts, longest first.
var byteUnits = []struct {
	suffix string
	mult   float64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}

// BytesVar defines an int64 flag for a size in bytes, written with a unit ("512MiB", "2GiB",
// "1.5GB") or as a number of bytes, whose value must lie in r; --help shows the range.
func BytesVar(fs *pflag.FlagSet, p *int64, name string, def int64, r Range[int64], usage string) {
	addBounded(fs, &bounded[int64]{p: p, r: r, typ: "size", format: formatBytes, parse: parseBytes}, name, def, usage)
}

// formatBytes writes a size with the largest binary unit that divides it ("1GiB", "1536KiB").
func formatBytes(v int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v != 0 && v%u.mult == 0 {
			return strconv.FormatInt(v/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(v, 10)
}

func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	num, mult := s, 1.0
	for _, u := range byteUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f*mult) >= 1<<62 || f*mult != math.Trunc(f*mult) {
		return 0, fmt.Errorf("want a size such as 512MiB, 2GiB or 1500000000")
	}
	return int64(f * mult), nil
}
