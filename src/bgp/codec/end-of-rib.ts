/**
 * End-of-RIB markers (RFC 4724 §2): for IPv4 unicast an UPDATE with nothing in it; for any
 * other family an UPDATE whose only attribute is an empty MP_UNREACH_NLRI for that family.
 */
import { Afi, MessageType } from './types';
import type { Family, UpdateMessage } from './types';

/** The End-of-RIB UPDATE for a family. */
export function endOfRib(family: Family): UpdateMessage {
  if (family.afi === Afi.Ipv4 && family.safi === 1) {
    return { type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [] };
  }
  return {
    type: MessageType.Update,
    withdrawn: [],
    attributes: { mpUnreach: { afi: family.afi, safi: family.safi, withdrawn: [] } },
    nlri: [],
  };
}

/** The family an UPDATE marks the end of, or undefined when it is not an End-of-RIB. */
export function endOfRibFamily(msg: UpdateMessage): Family | undefined {
  if (msg.withdrawn.length > 0 || msg.nlri.length > 0 || msg.attrErrors) return undefined;
  const keys = Object.keys(msg.attributes);
  if (keys.length === 0) return { afi: Afi.Ipv4, safi: 1 };
  const mp = msg.attributes.mpUnreach;
  if (keys.length === 1 && mp !== undefined && mp.withdrawn.length === 0) return { afi: mp.afi, safi: mp.safi };
  return undefined;
}
