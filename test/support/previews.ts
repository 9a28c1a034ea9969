import { describeCreateOrder } from '../../core/tools/create_order.ts';
import type { ConfirmBlock } from '../../core/replies/reply.ts';

/** The confirmation of "Render all Kugellager products as WebP at 1024x1024" with 60,000 of them. */
export function bigConfirm(status: ConfirmBlock['status'] = 'pending'): ConfirmBlock {
  const step = describeCreateOrder({
    products: {
      count: 60_000,
      sample: Array.from({ length: 5 }, (_, i) => ({
        pimId: `KL-6${i}04-2RS-C3-000000${i}`,
        name: `Rillenkugellager 6${i}04-2RS C3 <b>&amp;</b>`,
      })),
      selection: { selectionId: '00000000-0000-4000-8000-000000000000', description: 'in category Kugellager' },
    },
    outputType: { id: 'x', name: 'WebP 1024x1024', format: 'webp', width: 1024, height: 1024 },
    material: { id: 'm', name: 'Steel-Bare' },
    renderOverrides: { background: 'transparent', camera_angle: 'iso' },
    submit: true,
  });
  return {
    type: 'confirm',
    actionId: '6f1c2b1e-8c1d-4a51-9a3e-2a4f6a1b9c01',
    title: step.title,
    steps: [step],
    expiresAt: '2026-11-25T12:15:00.000Z',
    status,
  };
}
