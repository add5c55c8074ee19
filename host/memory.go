package host

// MemoryBytes is the current size of the instance's linear memory: what it
// has grown to, at most its plugin's memory limit. Like every Instance
// method, call it from the goroutine that uses the instance.
func (i *Instance) MemoryBytes() uint64 {
	if i.mod == nil || i.closed {
		return 0
	}
	m := i.mod.Memory()
	if m == nil {
		return 0
	}
	return uint64(m.Size())
}
