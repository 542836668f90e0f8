package transport

// SetBetweenRenames makes each delivery call fn between two renames of its
// set, until the returned function is called: tests stop the server or
// put something in the way there.
func SetBetweenRenames(fn func()) (restore func()) {
	testBetweenRenames = fn
	return func() { testBetweenRenames = nil }
}
