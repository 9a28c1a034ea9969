import { z } from 'zod';
import { UserInputError } from '../errors.ts';

/** Every key a render override may set; anything else is rejected. */
export const renderOverrideKeys = [
  'width',
  'height',
  'background',
  'camera_angle',
  'quality',
  'shadow',
  'padding',
] as const;
/** One of `renderOverrideKeys`. */
export type RenderOverrideKey = (typeof renderOverrideKeys)[number];

/** Camera angles the renderer supports. */
const cameraAngles = ['front', 'side', 'top', 'iso', 'three-quarter'] as const;

const backgroundPattern = /^(transparent|white|black|#[0-9a-fA-F]{6})$/;

/**
 * Per-order render settings that take precedence over the output type's defaults. A strict
 * object: unknown keys fail with a message that lists the allowed ones. Kept JSON-schema
 * friendly (no transforms, unions or defaults) so it can be a strict tool parameter.
 */
export const renderOverridesSchema = z.strictObject(
  {
    width: z
      .number()
      .int()
      .min(16)
      .max(8192)
      .optional()
      .describe('Output width in pixels (16..8192); overrides the output type'),
    height: z
      .number()
      .int()
      .min(16)
      .max(8192)
      .optional()
      .describe('Output height in pixels (16..8192); overrides the output type'),
    background: z
      .string()
      .regex(backgroundPattern, 'background must be "transparent", "white", "black" or a colour like "#1A2B3C"')
      .optional()
      .describe('Background: "transparent", "white", "black" or a hex colour "#RRGGBB"'),
    camera_angle: z.enum(cameraAngles).optional().describe('Camera angle of the render'),
    quality: z.number().int().min(1).max(100).optional().describe('Encoder quality 1..100'),
    shadow: z.boolean().optional().describe('Render a drop shadow under the product'),
    padding: z
      .number()
      .int()
      .min(0)
      .max(50)
      .optional()
      .describe('Empty margin around the product, in percent of the image (0..50)'),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `Unknown render override ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((k) => `"${k}"`).join(', ')}; allowed keys: ${renderOverrideKeys.join(', ')}.`
        : undefined,
  },
);
/** Validated render overrides; absent keys fall back to the output type's defaults. */
export type RenderOverrides = z.infer<typeof renderOverridesSchema>;

/**
 * Validates `value` as render overrides, throwing UserInputError 'invalid_overrides' whose
 * message names each offending key and what is allowed.
 */
export function parseRenderOverrides(value: unknown): RenderOverrides {
  const result = renderOverridesSchema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) =>
    i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message,
  );
  throw new UserInputError('invalid_overrides', `Invalid render overrides. ${problems.join(' ')}`);
}

/**
 * Overrides as stored on an order, validated. Stored values were validated on write, so a
 * failure here means the row was edited by hand; the error says so instead of merging into it.
 */
export function storedRenderOverrides(value: unknown): RenderOverrides {
  const result = renderOverridesSchema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new UserInputError(
    'invalid_overrides',
    `The order's stored render overrides are not valid (${result.error.issues[0]?.message ?? 'unknown problem'}); clear them before changing them.`,
  );
}

/**
 * `existing` with the keys in `clear` removed and then `patch` applied on top; the result is
 * validated again so a merge can never produce an invalid combination.
 */
export function mergeRenderOverrides(
  existing: RenderOverrides,
  patch: RenderOverrides,
  clear: readonly RenderOverrideKey[] = [],
): RenderOverrides {
  const merged: Record<string, unknown> = { ...existing };
  for (const key of clear) delete merged[key];
  for (const [key, value] of Object.entries(patch)) if (value !== undefined) merged[key] = value;
  return parseRenderOverrides(merged);
}

/** Human text for previews, e.g. "width 2048 px, background transparent, shadow on"; "none" when empty. */
export function describeOverrides(o: RenderOverrides): string {
  const parts: string[] = [];
  if (o.width !== undefined) parts.push(`width ${o.width} px`);
  if (o.height !== undefined) parts.push(`height ${o.height} px`);
  if (o.background !== undefined) parts.push(`background ${o.background}`);
  if (o.camera_angle !== undefined) parts.push(`camera angle ${o.camera_angle}`);
  if (o.quality !== undefined) parts.push(`quality ${o.quality}`);
  if (o.shadow !== undefined) parts.push(`shadow ${o.shadow ? 'on' : 'off'}`);
  if (o.padding !== undefined) parts.push(`padding ${o.padding}%`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}
