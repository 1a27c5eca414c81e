/** The L2 data plane (ARP/NDP announcer) as the speaker uses it; see docs/l2.md. */
export { L2Announcer } from './announcer';
export type { ConflictEvent, L2AnnouncerOptions, L2Counters, ProbeOptions } from './announcer';
export { DEFAULT_GARP_TIMING } from './garp-schedule';
export type { GarpTiming } from './garp-schedule';
export { DEFAULT_EXCLUDED_INTERFACES, eligibleInterfaces, selectInterfaces, servingMacsOf } from './interfaces';
export type { InterfaceDescription, InterfaceScan, InterfaceSelection } from './interfaces';
export { DropReason } from './responder';
export type { L2Socket, L2System } from './l2-system';
