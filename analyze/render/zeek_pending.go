package render

import "github.com/tcptimeline/tcptimeline/analyze"

// Until flowstate computes Zeek's conn_state and history, the summary
// leaves them empty.
func zeekConnState(*analyze.Flow) string { return "" }
func zeekHistory(*analyze.Flow) string   { return "" }
