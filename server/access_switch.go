package server

// accessControl is always on in a ledgerd binary. Only a binary built with the build tag
// benchnoaccess (bench/, for the ratio of issue 11) has it off: no flag or setting can turn
// authorization or the access trail off.
var accessControl = true
