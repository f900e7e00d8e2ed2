/**
 * The cluster configuration file and the cluster key file.
 *
 * <p>One YAML file describes the whole cluster and is the same on every node:
 *
 * <pre>
 * cluster:
 *   name: demo                 # required; 1..63 of [a-z0-9-], starting with a letter
 *   keyFile: cluster.key       # required; relative paths resolve against this file's folder
 *   heartbeatPort: 7410        # optional; UDP port of the heartbeats on every address, 1024..65535
 * nodes:                       # required; 1..32 entries
 *   - id: 1                    # required; 1..32, unique; the node's slot on the quorum disk
 *     name: node-1             # required; 1..63 of [a-z0-9-], unique
 *     addresses: [198.18.0.1]  # required; 1..4 IPv4 or IPv6 literals, unique across all nodes;
 *                              # heartbeat ring i is every node's i-th address, so every node
 *                              # lists the same number of addresses, in the same network order
 *     fence: [[bmc-1], [pdu-a-7, pdu-b-7]]  # optional; levels in order, each all-must-succeed
 * quorumDisk:                  # required
 *   primary: /var/lib/baton/quorum.img   # required; file or block device
 *   shadow: /var/lib/baton/shadow.img    # optional; absent: second region of primary
 * timeouts:                    # optional, as is every key; defaults in Timeouts.DEFAULTS
 *   diskIntervalMillis: 200
 *   missedDiskIntervals: 4
 *   heartbeatIntervalMillis: 100
 *   missedHeartbeats: 8
 * fenceDevices:                # optional; name -> device, see FenceBinding
 *   bmc-1:
 *     agent: fence_ipmilan     # required; name under /usr/sbin or absolute path, executable
 *     parameters: {ip: 198.18.0.101, username: admin}   # optional; no credentials, no action
 *     secretFiles: {password: /etc/baton/bmc-1.password} # optional; mode 600, must exist
 * </pre>
 *
 * <p>Loading is strict: unknown keys, duplicate keys, values of the wrong type (a quoted
 * number, a number with a unit) and YAML aliases are errors, and all errors of a file are
 * reported at once as {@code FILE:LINE: KEY: PROBLEM; fix: FIX}. Addresses are IP
 * literals, never host names: no DNS lookup decides who is who in the cluster.
 */
package baton.runtime.config;
