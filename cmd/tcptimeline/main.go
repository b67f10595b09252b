// Command tcptimeline turns a tcpdump capture into an annotated TCP timeline.
package main

import (
	"os"

	_ "github.com/fatih/color"
	_ "github.com/gopacket/gopacket/layers"
	_ "github.com/gopacket/gopacket/pcapgo"
	_ "github.com/spf13/cobra"
)

func main() { os.Exit(0) }
