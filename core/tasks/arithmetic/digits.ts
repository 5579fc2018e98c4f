/**
 * The arithmetic task's digit places, in the order of the `digit` column: digit 0 = thousands
 * (s3), 1 = hundreds, 2 = tens, 3 = ones (s0). The one place that says so.
 */
export const DIGIT_PLACES = ['thousands', 'hundreds', 'tens', 'ones'] as const;
export type DigitPlace = (typeof DIGIT_PLACES)[number];

/** The `digit` value of a place. */
export const digitOf = (place: DigitPlace): number => DIGIT_PLACES.indexOf(place);
