//go:build !race

package clitest

// RaceEnabled reports whether this binary was built with -race (and Binary builds with it).
const RaceEnabled = false
