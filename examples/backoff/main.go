// Command backoff prints the delays each jitter kind draws after failed attempts 1–8, for a
// throttled call (base 1 s) and a transiently failing one (base 50 ms), with the SDK's cap of
// 20 s. The draws come from a seeded source, so the table is reproducible:
//
//	go run ./examples/backoff            # seed 1
//	go run ./examples/backoff -seed 7
package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"text/tabwriter"
	"time"

	"github.com/tollgate/tollgate/backoff"
)

func main() {
	seed := flag.Uint64("seed", 1, "random seed; the same seed prints the same table")
	attempts := flag.Int("attempts", 8, "failed attempts to show")
	flag.Parse()
	if *attempts < 1 || *attempts > 64 {
		fmt.Fprintln(os.Stderr, "backoff: -attempts must be between 1 and 64")
		os.Exit(2)
	}
	printTable(os.Stdout, *seed, *attempts)
}

// printTable writes one section per error class; each jitter kind draws from its own source
// seeded with seed, so adding a column does not change the others.
func printTable(w io.Writer, seed uint64, attempts int) {
	b := backoff.Backoff{}
	fmt.Fprintf(w, "Retry delays after each failed attempt (seed %d; cap %v)\n", seed, backoff.DefaultCap)
	for _, class := range []backoff.Class{backoff.Throttle, backoff.Transient} {
		fmt.Fprintf(w, "\n%s errors (base %v):\n", class, b.Base(class))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "attempt\tceiling\t")
		for _, j := range backoff.Jitters() {
			fmt.Fprintf(tw, "%s\t", j)
		}
		fmt.Fprintln(tw)
		cols := make([][]time.Duration, len(backoff.Jitters()))
		for ji, j := range backoff.Jitters() {
			r := rand.New(rand.NewPCG(seed, uint64(ji)))
			bj := b
			bj.Jitter = j
			var prev time.Duration
			for i := 0; i < attempts; i++ {
				prev = bj.Delay(r, class, i, prev)
				cols[ji] = append(cols[ji], prev)
			}
		}
		for i := 0; i < attempts; i++ {
			fmt.Fprintf(tw, "%d\t%v\t", i+1, b.Ceiling(class, i))
			for ji := range cols {
				fmt.Fprintf(tw, "%v\t", cols[ji][i].Round(time.Millisecond))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
}
