package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Range bounds a numeric flag. Min and Max are inclusive unless MinOpen (Min itself is not
// allowed); NoMax means no upper bound.
type Range[T int | int64 | uint64 | float64 | time.Duration] struct {
	Min     T
	MinOpen bool
	Max     T
	NoMax   bool
}

// AtLeast is the range [min, ∞).
func AtLeast[T int | int64 | uint64 | float64 | time.Duration](min T) Range[T] {
	return Range[T]{Min: min, NoMax: true}
}

// Above is the range (min, ∞).
func Above[T int | int64 | uint64 | float64 | time.Duration](min T) Range[T] {
	return Range[T]{Min: min, MinOpen: true, NoMax: true}
}

// Between is the range [min, max].
func Between[T int | int64 | uint64 | float64 | time.Duration](min, max T) Range[T] {
	return Range[T]{Min: min, Max: max}
}

func (r Range[T]) contains(v T) bool {
	if r.MinOpen && v <= r.Min || !r.MinOpen && v < r.Min {
		return false
	}
	return r.NoMax || v <= r.Max
}

// describe renders the range for --help and errors: ">= 0", "> 0s", "1 to 64".
func (r Range[T]) describe(format func(T) string) string {
	switch {
	case r.NoMax && r.MinOpen:
		return "> " + format(r.Min)
	case r.NoMax:
		return ">= " + format(r.Min)
	case r.MinOpen:
		return fmt.Sprintf("> %s and <= %s", format(r.Min), format(r.Max))
	}
	return format(r.Min) + " to " + format(r.Max)
}

// bounded is a pflag.Value that rejects values outside its range.
type bounded[T int | int64 | uint64 | float64 | time.Duration] struct {
	p      *T
	r      Range[T]
	parse  func(string) (T, error)
	format func(T) string
	typ    string
}

func (b *bounded[T]) String() string { return b.format(*b.p) }
func (b *bounded[T]) Type() string   { return b.typ }

func (b *bounded[T]) Set(s string) error {
	v, err := b.parse(s)
	if err != nil {
		return err
	}
	if !b.r.contains(v) {
		return fmt.Errorf("want %s", b.r.describe(b.format))
	}
	*b.p = v
	return nil
}

func addBounded[T int | int64 | uint64 | float64 | time.Duration](fs *pflag.FlagSet, b *bounded[T], name string, def T, usage string) {
	*b.p = def
	fs.Var(b, name, usage+"; valid: "+b.r.describe(b.format))
	fs.Lookup(name).DefValue = b.format(def)
}

// IntVar defines an int flag whose value must lie in r; --help shows the range.
func IntVar(fs *pflag.FlagSet, p *int, name string, def int, r Range[int], usage string) {
	addBounded(fs, &bounded[int]{p: p, r: r, typ: "int", format: strconv.Itoa,
		parse: func(s string) (int, error) {
			v, err := strconv.ParseInt(strings.TrimSpace(s), 0, strconv.IntSize)
			if err != nil {
				return 0, fmt.Errorf("want an integer")
			}
			return int(v), nil
		}}, name, def, usage)
}

// FloatVar defines a float64 flag whose value must be finite and lie in r; --help shows the
// range. NaN and ±Inf are always refused.
func FloatVar(fs *pflag.FlagSet, p *float64, name string, def float64, r Range[float64], usage string) {
	addBounded(fs, &bounded[float64]{p: p, r: r, typ: "float",
		format: func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) },
		parse: func(s string) (float64, error) {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("want a finite number")
			}
			return v, nil
		}}, name, def, usage)
}

// DurationVar defines a time.Duration flag whose value must lie in r; --help shows the range.
func DurationVar(fs *pflag.FlagSet, p *time.Duration, name string, def time.Duration, r Range[time.Duration], usage string) {
	addBounded(fs, &bounded[time.Duration]{p: p, r: r, typ: "duration", format: time.Duration.String,
		parse: func(s string) (time.Duration, error) {
			v, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil {
				return 0, fmt.Errorf("want a duration such as 500ms, 20s or 1m30s")
			}
			return v, nil
		}}, name, def, usage)
}

// enum is a pflag.Value that accepts one of a fixed set of words.
type enum struct {
	p       *string
	allowed []string
}

func (e *enum) String() string { return *e.p }
func (e *enum) Type() string   { return strings.Join(e.allowed, "|") }

func (e *enum) Set(s string) error {
	for _, a := range e.allowed {
		if s == a {
			*e.p = s
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(e.allowed, ", "))
}

// EnumVar defines a string flag that accepts one of allowed (shown in --help, offered by shell
// completion).
func EnumVar(cmd *cobra.Command, p *string, name, def string, allowed []string, usage string) {
	*p = def
	cmd.Flags().Var(&enum{p: p, allowed: allowed}, name, usage)
	_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp))
}

// Formats are the report formats every command that prints a report offers.
var Formats = []string{"table", "json", "markdown"}

// FormatVar defines --format (table, json or markdown; default table).
func FormatVar(cmd *cobra.Command, p *string, what string) {
	EnumVar(cmd, p, "format", "table", Formats, "format of "+what)
}

// SeedVar defines --seed.
func SeedVar(fs *pflag.FlagSet, p *uint64, def uint64, usage string) {
	fs.Uint64Var(p, "seed", def, usage)
}
