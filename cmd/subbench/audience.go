package main

// audience says which subscriber must receive which event, the same for every target, so
// that deliveries to anyone else count as wrong and the ones missing as misses.
//
// Subscriber i is user i%Users (socket tokens spread evenly over the users); user u is in
// role u%Roles; subscriber i subscribes with filter i%Filters. Event seq (1-based) comes
// from process (seq-1)%processes(), whose task is the role's (process j: role j%Roles) and
// whose name holds the marker j%Filters; filter k is "the name does not hold marker k". So
// an event reaches the subscribers of its role whose filter is not its marker's.
// Warm-up events (seq 0) reach everybody: one per role, holding no marker.
type audience struct {
	Users   int // 0: every subscriber uses one token (the admin's)
	Roles   int // at least 1
	Filters int // 0: no filter
}

func (a audience) roles() int { return max(a.Roles, 1) }

// processes is how many distinct (role, marker) processes the events cycle through.
func (a audience) processes() int {
	return lcm(a.roles(), max(a.Filters, 1))
}

// subRole is subscriber i's role (0 without users: one role for all).
func (a audience) subRole(i int) int {
	if a.Users == 0 {
		return 0
	}
	return (i % a.Users) % a.roles()
}

// subFilter is subscriber i's filter, -1 for none.
func (a audience) subFilter(i int) int {
	if a.Filters == 0 {
		return -1
	}
	return i % a.Filters
}

// eventRole is the role whose users may see event seq.
func (a audience) eventRole(seq int) int { return ((seq - 1) % a.processes()) % a.roles() }

// eventMarker is the marker in event seq's task name, -1 for none.
func (a audience) eventMarker(seq int) int {
	if a.Filters == 0 {
		return -1
	}
	return ((seq - 1) % a.processes()) % a.Filters
}

// expects reports whether subscriber i must receive event seq.
func (a audience) expects(i, seq int) bool {
	if a.Users > 0 && a.subRole(i) != a.eventRole(seq) {
		return false
	}
	return a.Filters == 0 || a.subFilter(i) != a.eventMarker(seq)
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}
