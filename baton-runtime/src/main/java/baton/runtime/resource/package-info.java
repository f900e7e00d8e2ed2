/**
 * The resource drivers of services: what runs one resource's start, stop and monitor on this
 * node. No cluster logic: which node runs what, restarts and failover are decided elsewhere.
 *
 * <ul>
 *   <li>{@link baton.runtime.resource.OcfDriver}: OCF resource agents (the Debian package
 *       resource-agents: {@code ocf:heartbeat:IPaddr2}, {@code Dummy}, {@code Filesystem}, ...)
 *       run the way Pacemaker runs them: the action as the only argument, the parameters as
 *       {@code OCF_RESKEY_*} variables, Baton's deadline passed as {@code CRM_meta_timeout}.
 *   <li>{@link baton.runtime.resource.OcfMetadata}: {@code meta-data} parsed, and
 *       {@link baton.runtime.resource.OcfMetadata#validate} with messages that name the agent,
 *       the parameter and the fix.
 *   <li>{@link baton.runtime.resource.ExecDriver}: {@code exec} resources, three argument
 *       vectors (start, stop, status) with LSB status codes.
 *   <li>{@link baton.runtime.resource.ResourceResult}: how a call ended, the same for every kind.
 * </ul>
 *
 * <p>Every call runs through {@link baton.runtime.proc.ProcessCall}, as fence agents do: its
 * own session, Baton's deadline, the whole process tree killed when it passes and swept after
 * every exit, output bounded to its tail.
 *
 * <p>What the real agents (resource-agents 4.12) do that a driver must know:
 * <ul>
 *   <li>Every agent's metadata starts with {@code <!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">};
 *       only that exact declaration is skipped, any other DOCTYPE is refused.
 *   <li>{@code ocf_log} writes to syslog unless {@code HA_LOGFACILITY=none}; then it writes
 *       "Nov 23 04:30:48 ERROR: ..." to stderr. {@code ocf_exit_reason} writes
 *       "ocf-exit-reason:TEXT" to stderr: that is the reason Baton reports.
 *   <li>A missing required parameter is exit 6 (OCF_ERR_CONFIGURED, "fatal": wrong on every
 *       node); an unknown action exits 3 with the usage on stdout.
 *   <li>Without {@code OCF_RESOURCE_INSTANCE} (as for meta-data) agents name their defaults
 *       after "RESOURCE_ID"; with it, e.g. Dummy's state file is
 *       {@code /run/resource-agents/Dummy-INSTANCE.state}.
 * </ul>
 */
package baton.runtime.resource;
