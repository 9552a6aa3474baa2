package statistics

// DayBins reports whether PostgreSQL time buckets are rolled up from UTC days.
func (s *Service) DayBins() bool { return s.dayBins }

// SetDayBins switches PostgreSQL time buckets between UTC day bins and date_trunc per
// row, so that tests compare both ways on the same rows.
func (s *Service) SetDayBins(on bool) { s.dayBins = on }

// DayBin is dayBin, for the test of the planner's estimate.
var DayBin = dayBin

// IsUTC is isUTC.
var IsUTC = isUTC
