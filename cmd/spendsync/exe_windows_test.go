package main

// exeSuffix ends the name of a built binary.
const exeSuffix = ".exe"
