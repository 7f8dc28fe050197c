// Table tests of admission compare refusals by their message: a function's thrown message, or
// "(accepted)" when it returns.

export const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '(accepted)';
};
