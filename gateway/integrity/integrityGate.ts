import type { Logger } from '../../shared/logger.js';
import type { ToolGate } from '../catalog/upstreamCatalog.js';
import type { ToolChange, ToolPins } from './toolPins.js';

/** Serve each upstream's tools as its integrity policy says, given the pinned definitions. */
export function integrityGate(pins: ToolPins, logger: Logger, onToolChange?: (change: ToolChange, served: boolean) => void): ToolGate {
  return (upstream) => {
    const policy = upstream.config.integrity;
    let review;
    try {
      review = pins.review(upstream.namespace, upstream.tools, policy);
    } catch (error) {
      // Without readable pins nothing can be vouched for: hold everything back.
      logger.error({ err: error, upstream: upstream.namespace }, "tool pins unreadable: withholding this upstream's tools");
      return {
        serve: [],
        withheld: upstream.tools.map((tool) => ({ tool: tool.name, reason: `its pinned definitions cannot be read (${(error as Error).message})` })),
      };
    }
    for (const change of review.newlyChanged) {
      const served = policy !== 'withhold';
      logger.warn(
        { upstream: upstream.namespace, tool: change.tool, changes: change.changes, policy },
        served
          ? `tool definition changed; served under integrity policy "${policy}"`
          : `tool definition changed; withheld until an operator approves it (integrity approve ${upstream.namespace} ${change.tool})`,
      );
      onToolChange?.(change, served);
    }
    return {
      serve: review.serve,
      withheld: review.withheld.map((change) => ({
        tool: change.tool,
        reason: `its definition changed since it was approved (${change.changes.join('; ')}); it is withheld until an operator approves it with "integrity approve ${upstream.namespace} ${change.tool}"`,
      })),
    };
  };
}
