//go:build race

package registry

// raceOn is true under -race, which slows code by an order of magnitude:
// time bounds are skipped then, memory bounds kept.
const raceOn = true
