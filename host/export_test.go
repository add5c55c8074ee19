package host

// Hooks for the benchmarks in package host_test.

// UseTimeLimit sets how r enforces call time limits: "checked" (the
// default), "none" or "wazero" (WithCloseOnContextDone). Call it before
// loading any plugin.
func UseTimeLimit(r *Runtime, mode string) {
	switch mode {
	case "checked":
		r.timeLimit = limitChecked
	case "none":
		r.timeLimit = limitNone
	case "wazero":
		r.timeLimit = limitWazero
	default:
		panic("unknown time limit mode " + mode)
	}
}
